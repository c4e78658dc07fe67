import Foundation

/// The release of this engine, recorded in every run log and printed by `aimclr --version`.
public enum AimCLRVersion {
    public static let current = "0.1.0"
    /// The git commit the binary was built from ("-dirty" with uncommitted changes; "unknown" without git).
    public static let commit = BuildCommit.hash
    /// "0.1.0 (commit 1a2b3c4d5e6f)", as `aimclr --version` prints it.
    public static let description = "\(current) (commit \(commit))"
}

/// The first record a training run (pretraining, `aimclr train`) writes to `log.jsonl` (again on
/// every resume): what was run, with which configuration and on which device, so a log explains itself.
struct RunHeader<Config: Encodable>: Encodable {
    var type = "header"
    var version = AimCLRVersion.current
    var commit = AimCLRVersion.commit
    var host: String
    var started: String
    var command: [String]
    var device: String
    var resumedFrom: String?
    var config: Config
    /// The pre-flight recipe notes (see `RecipeCheck`).
    var notes: [String]

    init(provenance p: Provenance, resumedFrom: String?, config: Config, notes: [String] = []) {
        version = p.version; commit = p.commit; host = p.host; started = p.started
        command = p.commandLine; device = p.device
        self.resumedFrom = resumedFrom; self.config = config; self.notes = notes
    }
}
