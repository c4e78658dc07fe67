import Compute
import Foundation

/// A joint layout: joint count, graph edges, centre joint, left/right flip permutation and
/// the bone parents used by the bone stream. All indices are 0-based.
public struct SkeletonLayout: Equatable, Sendable, Codable {
    public var name: String
    public var jointCount: Int
    /// Undirected edges (self-loops are added by the graph builder).
    public var edges: [[Int]]
    /// The graph centre for the spatial partition.
    public var center: Int
    /// `new[v] = old[flip[v]]` mirrors the body's left and right sides.
    public var flip: [Int]
    /// `bone[v] = X[v] − X[parent[v]]`; the root points to itself (its bone is 0).
    public var boneParent: [Int]

    public init(name: String, jointCount: Int, edges: [(Int, Int)], center: Int, flip: [Int], boneParent: [Int]) throws {
        self.name = name; self.jointCount = jointCount; self.edges = edges.map { [$0.0, $0.1] }
        self.center = center; self.flip = flip; self.boneParent = boneParent
        try validate()
    }

    /// Checks ranges, that `flip` is a permutation and that edges are pairs.
    public func validate() throws {
        func bad(_ r: String) -> LayoutError { .invalid(layout: name, reason: r) }
        guard jointCount > 0 else { throw bad("jointCount must be positive") }
        for e in edges {
            guard e.count == 2, e.allSatisfy({ (0..<jointCount).contains($0) }) else { throw bad("edge \(e) outside 0..<\(jointCount)") }
        }
        guard (0..<jointCount).contains(center) else { throw bad("center \(center) outside 0..<\(jointCount)") }
        guard flip.count == jointCount, Set(flip) == Set(0..<jointCount) else { throw bad("flip is not a permutation of 0..<\(jointCount)") }
        guard boneParent.count == jointCount, boneParent.allSatisfy({ (0..<jointCount).contains($0) }) else {
            throw bad("boneParent needs \(jointCount) entries in 0..<\(jointCount)")
        }
    }

    /// Edges as tuples.
    public var edgePairs: [(Int, Int)] { edges.map { ($0[0], $0[1]) } }

    /// Loads a custom layout from JSON:
    /// `{"name": ..., "jointCount": V, "edges": [[i, j], ...], "center": c, "flip": [...], "boneParent": [...]}`,
    /// 0-based. `"oneBased": true` accepts 1-based joint numbers as the literature writes them.
    public static func load(json path: String) throws -> SkeletonLayout {
        guard let data = FileManager.default.contents(atPath: path) else { throw LayoutError.cannotRead(path: path) }
        struct File: Decodable {
            var name: String?; var jointCount: Int; var edges: [[Int]]; var center: Int
            var flip: [Int]?; var boneParent: [Int]?; var oneBased: Bool?
        }
        let f: File
        do { f = try JSONDecoder().decode(File.self, from: data) } catch {
            throw LayoutError.invalid(layout: path, reason: "\(error)")
        }
        let shift = f.oneBased == true ? 1 : 0
        // Bound every number before arithmetic or allocation sized by it.
        let limit = 100_000
        guard f.jointCount > 0, f.jointCount <= limit else {
            throw LayoutError.invalid(layout: path, reason: "jointCount \(f.jointCount) outside 1...\(limit)")
        }
        let numbers = [f.center] + f.edges.joined() + (f.flip ?? []) + (f.boneParent ?? [])
        guard numbers.allSatisfy({ $0 >= -limit && $0 <= limit }), f.edges.count <= limit * 10 else {
            throw LayoutError.invalid(layout: path, reason: "a joint index lies outside -\(limit)...\(limit)")
        }
        do {
            return try SkeletonLayout(
            name: f.name ?? URL(fileURLWithPath: path).deletingPathExtension().lastPathComponent,
            jointCount: f.jointCount,
            edges: f.edges.map { e in (e.first.map { $0 - shift } ?? -1, e.count == 2 ? e[1] - shift : -1) },
            center: f.center - shift,
            flip: f.flip?.map { $0 - shift } ?? Array(0..<f.jointCount),
            boneParent: f.boneParent?.map { $0 - shift } ?? Array(0..<f.jointCount))
        } catch let LayoutError.invalid(name, reason) {
            throw LayoutError.invalid(layout: "\(path) ('\(name)')", reason: reason) // name the file too
        }
    }

    /// A built-in layout by name: `ntu-rgb+d`, `kinect-v1`, `openpose`.
    public static func named(_ name: String) throws -> SkeletonLayout {
        switch name.lowercased() {
        case "ntu-rgb+d", "ntu", "ntu25", "kinect-v2": return ntuRGBD
        case "kinect-v1", "kinect20": return kinectV1
        case "openpose", "kinetics", "openpose18": return openpose
        default: throw LayoutError.unknown(name: name)
        }
    }

    /// A built-in layout by name, or a custom one from a `.json` file path (what a `layout:`
    /// setting may hold).
    public static func resolve(_ nameOrPath: String) throws -> SkeletonLayout {
        if nameOrPath.lowercased().hasSuffix(".json") { return try load(json: nameOrPath) }
        return try named(nameOrPath)
    }

    /// Names accepted by `named(_:)`.
    public static let builtInNames = ["ntu-rgb+d", "kinect-v1", "openpose"]

    /// NTU RGB+D / Kinect v2, 25 joints; centre spine-shoulder (index 20).
    public static let ntuRGBD: SkeletonLayout = {
        let oneBased = [(1, 2), (2, 21), (3, 21), (4, 3), (5, 21), (6, 5), (7, 6), (8, 7), (9, 21), (10, 9), (11, 10),
                        (12, 11), (13, 1), (14, 13), (15, 14), (16, 15), (17, 1), (18, 17), (19, 18), (20, 19),
                        (22, 23), (23, 8), (24, 25), (25, 12)]
        let bones = [(1, 2), (2, 21), (3, 21), (4, 3), (5, 21), (6, 5), (7, 6), (8, 7), (9, 21), (10, 9), (11, 10),
                     (12, 11), (13, 1), (14, 13), (15, 14), (16, 15), (17, 1), (18, 17), (19, 18), (20, 19), (21, 21),
                     (22, 23), (23, 8), (24, 25), (25, 12)]
        var parent = [Int](repeating: 0, count: 25)
        for (v, w) in bones { parent[v - 1] = w - 1 }
        return try! SkeletonLayout(
            name: "ntu-rgb+d", jointCount: 25, edges: oneBased.map { ($0.0 - 1, $0.1 - 1) }, center: 20,
            flip: [0, 1, 2, 3, 8, 9, 10, 11, 4, 5, 6, 7, 16, 17, 18, 19, 12, 13, 14, 15, 20, 23, 24, 21, 22],
            boneParent: parent)
    }()

    /// Kinect v1 SDK order, 20 joints (UTKinect, MSR Action3D, NW-UCLA); centre shoulder centre
    /// (index 2, the counterpart of NTU's spine shoulder). The first 20 NTU joints share this order.
    public static let kinectV1: SkeletonLayout = {
        let oneBased = [(1, 2), (2, 3), (3, 4), (3, 5), (5, 6), (6, 7), (7, 8), (3, 9), (9, 10), (10, 11), (11, 12),
                        (1, 13), (13, 14), (14, 15), (15, 16), (1, 17), (17, 18), (18, 19), (19, 20)]
        let parentOneBased = [2, 3, 3, 3, 3, 5, 6, 7, 3, 9, 10, 11, 1, 13, 14, 15, 1, 17, 18, 19]
        return try! SkeletonLayout(
            name: "kinect-v1", jointCount: 20, edges: oneBased.map { ($0.0 - 1, $0.1 - 1) }, center: 2,
            flip: [0, 1, 2, 3, 8, 9, 10, 11, 4, 5, 6, 7, 16, 17, 18, 19, 12, 13, 14, 15],
            boneParent: parentOneBased.map { $0 - 1 })
    }()

    /// OpenPose COCO-18 (Kinetics-skeleton, as ST-GCN's `graph.py`); centre neck (index 1).
    public static let openpose: SkeletonLayout = try! SkeletonLayout(
        name: "openpose", jointCount: 18,
        edges: [(4, 3), (3, 2), (7, 6), (6, 5), (13, 12), (12, 11), (10, 9), (9, 8), (11, 5), (8, 2), (5, 1), (2, 1),
                (0, 1), (15, 0), (14, 0), (17, 15), (16, 14)],
        center: 1,
        flip: [0, 1, 5, 6, 7, 2, 3, 4, 11, 12, 13, 8, 9, 10, 15, 14, 17, 16],
        boneParent: [1, 1, 1, 2, 3, 1, 5, 6, 2, 8, 9, 5, 11, 12, 0, 0, 14, 15])
}

/// Layout lookup and validation failures.
public enum LayoutError: Error, CustomStringConvertible, Equatable {
    case unknown(name: String)
    case invalid(layout: String, reason: String)
    case cannotRead(path: String)

    public var description: String {
        switch self {
        case let .unknown(n): return "unknown skeleton layout '\(n)' (built in: \(SkeletonLayout.builtInNames.joined(separator: ", ")), or a JSON file)"
        case let .invalid(l, r): return "layout \(l): \(r)"
        case let .cannotRead(p): return "\(p): cannot read layout file: \(InputFile.problem(p) ?? "unreadable")"
        }
    }
}
