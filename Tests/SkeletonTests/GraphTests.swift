import Foundation
import XCTest
@testable import Skeleton

final class GraphTests: XCTestCase {
    func testNTUGraphChecklist() {
        let g = SpatialGraph(layout: .ntuRGBD)
        XCTAssertEqual(g.shape, [3, 25, 25])
        let nz = (0..<3).map { k in (0..<25).flatMap { i in (0..<25).map { j in g.value(k, i, j) } }.filter { $0 != 0 }.count }
        XCTAssertEqual(nz, [25, 40, 8])
        var total: Float = 0
        for j in 0..<25 {
            var col: Float = 0
            for k in 0..<3 { for i in 0..<25 { col += g.value(k, i, j) } }
            XCTAssertEqual(col, 1, accuracy: 1e-6, "column \(j)")
            total += col
        }
        XCTAssertEqual(total, 25, accuracy: 1e-5)
        // deg(1) = 4, deg(21) = 5, deg = 2 for joints 4, 16, 20, 22, 24 (1-based).
        XCTAssertEqual(g.value(0, 0, 0), 0.25); XCTAssertEqual(g.value(0, 20, 20), 0.2)
        for j in [4, 16, 20, 22, 24] { XCTAssertEqual(g.value(0, j - 1, j - 1), 0.5) }
        // A2 holds exactly 2→1, 3→4, 5→6, 9→10, 21→2, 21→3, 21→5, 21→9 (row → column, 1-based).
        var a2: Set<[Int]> = []
        for i in 0..<25 { for j in 0..<25 where g.value(2, i, j) != 0 { a2.insert([i + 1, j + 1]) } }
        XCTAssertEqual(a2, [[2, 1], [3, 4], [5, 6], [9, 10], [21, 2], [21, 3], [21, 5], [21, 9]])
        // Column sums per partition: joint 1 (0.25, 0.5, 0.25), joint 21 (0.2, 0.8, 0), joint 4 (0.5, 0, 0.5).
        func colSums(_ j: Int) -> [Float] { (0..<3).map { k in (0..<25).reduce(0) { $0 + g.value(k, $1, j - 1) } } }
        for (j, want) in [(1, [0.25, 0.5, 0.25]), (21, [0.2, 0.8, 0]), (4, [0.5, 0, 0.5])] as [(Int, [Float])] {
            for k in 0..<3 { XCTAssertEqual(colSums(j)[k], want[k], accuracy: 1e-6, "joint \(j) partition \(k)") }
        }
        XCTAssertEqual(g.hopDistance[0][0], 0); XCTAssertEqual(g.hopDistance[0][1], 1); XCTAssertEqual(g.hopDistance[0][2], Int.max)
    }

    func testNTUGraphMatchesReferenceBitwise() throws {
        let a = try NpyArray.read(try Fixtures.path("ntu/expected/graph_A.npy"), expecting: .float32)
        XCTAssertEqual(a.shape, [3, 25, 25])
        XCTAssertEqual(a.floats(), SpatialGraph(layout: .ntuRGBD).adjacency)
    }

    func testBuiltInLayoutsAreConsistent() throws {
        for name in SkeletonLayout.builtInNames {
            let l = try SkeletonLayout.named(name)
            XCTAssertNoThrow(try l.validate())
            // Flip is an involution; every edge is within range; the tree is connected.
            XCTAssertEqual(l.flip.map { l.flip[$0] }, Array(0..<l.jointCount), name)
            XCTAssertEqual(l.edges.count, l.jointCount - 1, name)
            let g = SpatialGraph(layout: l)
            for j in 0..<l.jointCount {
                var col: Float = 0
                for k in 0..<g.partitionCount { for i in 0..<l.jointCount { col += g.value(k, i, j) } }
                XCTAssertEqual(col, 1, accuracy: 1e-6, "\(name) column \(j)")
            }
            // Every bone parent is a graph neighbour (or the root itself).
            let nbr = Set(l.edges.flatMap { [[$0[0], $0[1]], [$0[1], $0[0]]] })
            for v in 0..<l.jointCount where l.boneParent[v] != v { XCTAssertTrue(nbr.contains([v, l.boneParent[v]]), "\(name) bone \(v)") }
            XCTAssertEqual((0..<l.jointCount).filter { l.boneParent[$0] == $0 }.count, 1, "\(name): one root")
        }
        XCTAssertEqual(SkeletonLayout.kinectV1.jointCount, 20); XCTAssertEqual(SkeletonLayout.openpose.jointCount, 18)
        XCTAssertThrowsError(try SkeletonLayout.named("nope")) { XCTAssertTrue("\($0)".contains("unknown skeleton layout 'nope'")) }
    }

    func testCustomLayoutFromJSON() throws {
        let dir = try makeTempDir(self)
        let p = dir + "/tri.json"
        try #"{"name": "tri", "jointCount": 3, "edges": [[1, 2], [2, 3]], "center": 2, "flip": [3, 2, 1], "boneParent": [2, 2, 2], "oneBased": true}"#
            .write(toFile: p, atomically: true, encoding: .utf8)
        let l = try SkeletonLayout.load(json: p)
        XCTAssertEqual(try SkeletonLayout.resolve(p), l)
        XCTAssertEqual(try SkeletonLayout.resolve("kinect-v1"), SkeletonLayout.kinectV1)
        XCTAssertThrowsError(try SkeletonLayout.resolve("kinect-v3")) { XCTAssertEqual($0 as? LayoutError, .unknown(name: "kinect-v3")) }
        XCTAssertThrowsError(try SkeletonLayout.resolve(dir + "/none.json")) { XCTAssertEqual($0 as? LayoutError, .cannotRead(path: dir + "/none.json")) }
        XCTAssertEqual(l.edges, [[0, 1], [1, 2]]); XCTAssertEqual(l.center, 1); XCTAssertEqual(l.flip, [2, 1, 0])
        let g = SpatialGraph(layout: l)
        XCTAssertEqual(g.value(0, 1, 1), Float(1.0 / 3.0)); XCTAssertEqual(g.value(2, 1, 0), 0.5)
        try #"{"jointCount": 3, "edges": [[0, 5]], "center": 0}"#.write(toFile: p, atomically: true, encoding: .utf8)
        XCTAssertThrowsError(try SkeletonLayout.load(json: p)) { XCTAssertTrue("\($0)".contains("edge [0, 5] outside")) }
    }
}
