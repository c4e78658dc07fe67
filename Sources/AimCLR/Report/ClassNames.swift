import Foundation

/// Names for the classes of a report: from a file, the NTU RGB+D 60 action names when there
/// are 60 classes, otherwise "class i".
public enum ClassNames {
    /// `file`: one name per line, or a JSON list of strings; it must name at least `count` classes.
    public static func resolve(count: Int, file: String? = nil) throws -> [String] {
        if let file {
            let text: String
            do { text = try String(contentsOfFile: file, encoding: .utf8) } catch {
                throw ReportError(file: file, detail: "cannot read the class names: \(error.localizedDescription)")
            }
            var names: [String]
            if text.trimmingCharacters(in: .whitespacesAndNewlines).hasPrefix("[") {
                guard let list = try? JSONDecoder().decode([String].self, from: Data(text.utf8)) else {
                    throw ReportError(file: file, detail: "not a JSON list of class names")
                }
                names = list
            } else {
                names = text.split(whereSeparator: \.isNewline).map { $0.trimmingCharacters(in: .whitespaces) }.filter { !$0.isEmpty }
            }
            guard names.count >= count else {
                throw ReportError(file: file, detail: "\(names.count) class names for \(count) classes")
            }
            return Array(names.prefix(count))
        }
        if count == ntu60.count { return ntu60 }
        return (0..<count).map { "class \($0)" }
    }

    /// NTU RGB+D 60 actions A1–A60 (labels 0–59).
    public static let ntu60 = [
        "drink water", "eat meal/snack", "brushing teeth", "brushing hair", "drop", "pickup", "throw", "sitting down",
        "standing up", "clapping", "reading", "writing", "tear up paper", "wear jacket", "take off jacket", "wear a shoe",
        "take off a shoe", "wear on glasses", "take off glasses", "put on a hat/cap", "take off a hat/cap", "cheer up",
        "hand waving", "kicking something", "reach into pocket", "hopping", "jump up", "make a phone call",
        "playing with phone/tablet", "typing on a keyboard", "pointing to something", "taking a selfie", "check time (watch)",
        "rub two hands together", "nod head/bow", "shake head", "wipe face", "salute", "put the palms together",
        "cross hands in front", "sneeze/cough", "staggering", "falling", "touch head (headache)", "touch chest",
        "touch back (backache)", "touch neck (neckache)", "nausea or vomiting", "use a fan/feeling warm",
        "punching/slapping other person", "kicking other person", "pushing other person", "pat on back of other person",
        "point finger at other person", "hugging other person", "giving something to other person",
        "touch other person's pocket", "handshaking", "walking towards each other", "walking apart from each other",
    ]
}
