import Foundation
import XCTest
@testable import Skeleton

final class BatchLoaderTests: XCTestCase {
    private func dataset(_ n: Int) -> NpyArray {
        NpyArray(shape: [n, 3, 50, 25, 2], floats: (0..<(n * 7500)).map { Float(sin(Double($0) * 0.001)) + Float($0 / 7500) })
    }

    func testPlainBatchesInOrderWithPartialLast() throws {
        let data = dataset(10)
        let loader = try BatchLoader(data: data, labels: Array(100..<110), batchSize: 4, shuffle: false, dropLast: false)
        let batches = Array(loader.batches(epoch: 0))
        XCTAssertEqual(batches.map(\.indices), [[0, 1, 2, 3], [4, 5, 6, 7], [8, 9]])
        XCTAssertEqual(batches[2].labels, [108, 109]); XCTAssertEqual(batches[2].shape, [2, 3, 50, 25, 2])
        XCTAssertEqual(Array(batches[1].data[7500..<15000]), data.floats(row: 5))
        let dropped = try BatchLoader(data: data, labels: Array(0..<10), batchSize: 4, shuffle: false, dropLast: true)
        XCTAssertEqual(dropped.batchCount, 2); XCTAssertEqual(Array(dropped.batches(epoch: 0)).count, 2)
    }

    func testShuffleIsKeyedByEpochAndIndependentOfWorkers() throws {
        let data = dataset(12)
        let a = try BatchLoader(data: data, labels: Array(0..<12), batchSize: 5, shuffle: true, dropLast: true, seed: 3,
                                mode: .pretrain(AugmentationDraws(seed: 3)), workers: 1)
        let b = try BatchLoader(data: data, labels: Array(0..<12), batchSize: 5, shuffle: true, dropLast: true, seed: 3,
                                mode: .pretrain(AugmentationDraws(seed: 3)), prefetch: 4, workers: 4)
        XCTAssertEqual(Set(a.order(epoch: 1)), Set(0..<12)); XCTAssertNotEqual(a.order(epoch: 1), a.order(epoch: 2))
        XCTAssertNotEqual(a.order(epoch: 1), Array(0..<12))
        let ea = Array(a.batches(epoch: 1)), eb = Array(b.batches(epoch: 1))
        XCTAssertEqual(ea.count, 2)
        for (x, y) in zip(ea, eb) {
            XCTAssertEqual(x.indices, y.indices); XCTAssertEqual(x.labels, x.indices)
            XCTAssertEqual(x.views, y.views)
        }
        // The views equal the keyed draws of each sample.
        let i = ea[0].indices[1]
        let v = AugmentationDraws(seed: 3).views(SkeletonClip(frames: 50, joints: 25, bodies: 2, floats: data.floats(row: i)), epoch: 1, sample: i)
        XCTAssertEqual(Array(ea[0].query[7500..<15000]), v.query.floats)
        XCTAssertEqual(Array(ea[0].extreme[7500..<15000]), v.extreme.floats)
        XCTAssertEqual(Array(ea[0].key[7500..<15000]), v.key.floats)
    }

    func testStreamTransformAppliedPerView() throws {
        let data = dataset(4)
        let joint = try BatchLoader(data: data, labels: [0, 1, 2, 3], batchSize: 4, shuffle: false, dropLast: true,
                                    mode: .pretrain(AugmentationDraws(seed: 9)), stream: .joint, workers: 2)
        let bone = try BatchLoader(data: data, labels: [0, 1, 2, 3], batchSize: 4, shuffle: false, dropLast: true,
                                   mode: .pretrain(AugmentationDraws(seed: 9)), stream: .bone, workers: 2)
        let j = Array(joint.batches(epoch: 0))[0], b = Array(bone.batches(epoch: 0))[0]
        for k in 0..<3 {
            XCTAssertEqual(b.views[k], SkeletonStream.bone.apply(j.views[k], samples: 4, frames: 50, joints: 25, bodies: 2))
        }
    }

    func testAbandonedEpochDoesNotHang() throws {
        let loader = try BatchLoader(data: dataset(20), labels: Array(0..<20), batchSize: 2, shuffle: true, dropLast: true, prefetch: 1)
        var it = loader.batches(epoch: 0).makeIterator()
        XCTAssertNotNil(it.next())
        // Dropping the iterator here lets the producer exit; a fresh epoch still works.
        XCTAssertEqual(Array(loader.batches(epoch: 1)).count, 10)
        XCTAssertThrowsError(try BatchLoader(data: dataset(2), labels: [1], batchSize: 1, shuffle: false, dropLast: false))
    }
}
