import DataParallel
import Foundation

/// How this process was started: alone (today's single-device run) or as one rank of an
/// `mpirun` job, recognised by the variables Open MPI's launcher sets. MPI is initialised only
/// in the second case, so a plain run pays nothing for it.
public enum Launch {
    /// The launcher's world size, or nil without a launcher.
    public static func launcherWorldSize(_ environment: [String: String] = ProcessInfo.processInfo.environment) -> Int? {
        for key in ["OMPI_COMM_WORLD_SIZE", "PMIX_SIZE", "PMI_SIZE"] {
            if let v = environment[key], let n = Int(v) { return n }
        }
        return nil
    }

    /// The job this process belongs to.
    public static func collective() throws -> Collective {
        guard launcherWorldSize() != nil else { return SingleProcess() }
        return try MPICollective()
    }
}
