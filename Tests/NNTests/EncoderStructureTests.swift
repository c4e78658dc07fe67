import Compute
import XCTest
@testable import NN

/// Parameter counts, names and output shapes of spec §2.3, §2.4 and §9.
final class EncoderStructureTests: XCTestCase {
    func encoder(_ head: HeadKind, device: Device) throws -> STGCN {
        try STGCN(config: STGCNConfig(adjacency: TestSupport.adjacency(joints: 25), joints: 25, head: head),
                  device: device, seed: 1)
    }

    func testParameterCountsMatchReference() throws {
        let device = TestSupport.cpu()
        XCTAssertEqual(try encoder(.classifier(numClass: 60), device: device).parameterCount, 836_800)
        XCTAssertEqual(try encoder(.classifier(numClass: 51), device: device).parameterCount, 834_487)
        XCTAssertEqual(try encoder(.classifier(numClass: 120), device: device).parameterCount, 852_220)
        let pre = try encoder(.projection(hidden: 256, out: 128), device: device)
        XCTAssertEqual(pre.parameterCount, 920_068)
        XCTAssertEqual(pre.backboneParameters.reduce(0) { $0 + $1.count }, 821_380)
        XCTAssertEqual(pre.head.parameterCount, 98_688)
    }

    func testPerBlockCountsAndDropout() throws {
        let e = try encoder(.classifier(numClass: 60), device: TestSupport.cpu())
        XCTAssertEqual(e.blocks.map { $0.parameterCount },
                       [2_576, 3_200, 3_200, 3_200, 11_616, 12_544, 12_544, 45_760, 49_664, 658_176])
        XCTAssertEqual(e.head.parameterCount, 15_420)
        XCTAssertEqual(e.dataBN.parameterCount, 150)
        XCTAssertEqual(e.edgeImportance.reduce(0) { $0 + $1.count }, 18_750)
        XCTAssertEqual(e.blocks.map { $0.spec.dropout }, [0] + Array(repeating: 0.5, count: 9))
        XCTAssertEqual(e.blocks.map { $0.spec.residual },
                       [.none, .identity, .identity, .identity, .convolution, .identity, .identity,
                        .convolution, .identity, .convolution])
    }

    func testReferenceNamesAndShapes() throws {
        let e = try encoder(.projection(hidden: 256, out: 128), device: TestSupport.cpu())
        let shapes = Dictionary(uniqueKeysWithValues: e.parameters.map { ($0.name, $0.shape) })
        XCTAssertEqual(shapes["data_bn.weight"], [75])
        XCTAssertEqual(shapes["st_gcn_networks.0.gcn.conv.weight"], [48, 3, 1, 1])
        XCTAssertEqual(shapes["st_gcn_networks.0.gcn.conv.bias"], [48])
        XCTAssertEqual(shapes["st_gcn_networks.0.tcn.0.weight"], [16])
        XCTAssertEqual(shapes["st_gcn_networks.0.tcn.2.weight"], [16, 16, 9, 1])
        XCTAssertEqual(shapes["st_gcn_networks.0.tcn.3.bias"], [16])
        XCTAssertNil(shapes["st_gcn_networks.0.residual.0.weight"])
        XCTAssertNil(shapes["st_gcn_networks.1.residual.0.weight"])
        XCTAssertEqual(shapes["st_gcn_networks.4.residual.0.weight"], [32, 16, 1, 1])
        XCTAssertEqual(shapes["st_gcn_networks.9.residual.1.weight"], [256])
        XCTAssertEqual(shapes["st_gcn_networks.9.tcn.2.weight"], [256, 256, 9, 1])
        XCTAssertEqual(shapes["edge_importance.9"], [3, 25, 25])
        XCTAssertEqual(shapes["fc.0.weight"], [256, 256])
        XCTAssertEqual(shapes["fc.2.weight"], [128, 256])
        XCTAssertEqual(shapes["fc.2.bias"], [128])
        // Registration order: data_bn, blocks, fc, edge importance.
        let names = e.parameters.map { $0.name }
        XCTAssertEqual(names.first, "data_bn.weight")
        XCTAssertEqual(Array(names.prefix(4)), ["data_bn.weight", "data_bn.bias",
                                                "st_gcn_networks.0.gcn.conv.weight", "st_gcn_networks.0.gcn.conv.bias"])
        XCTAssertEqual(names.last, "edge_importance.9")
        XCTAssertLessThan(names.firstIndex(of: "fc.2.bias")!, names.firstIndex(of: "edge_importance.0")!)
        XCTAssertEqual(Set(names).count, names.count, "names are unique")
        let bufferNames = e.buffers.map { $0.name } + e.counters.map { $0.name }
        XCTAssertTrue(bufferNames.contains("data_bn.running_mean"))
        XCTAssertTrue(bufferNames.contains("st_gcn_networks.4.residual.1.running_var"))
        XCTAssertTrue(bufferNames.contains("st_gcn_networks.9.tcn.3.num_batches_tracked"))
        XCTAssertEqual(e.counters.count, 1 + 10 * 2 + 3)
    }

    func testInitialisationFollowsReference() throws {
        let device = TestSupport.cpu()
        let e = try encoder(.classifier(numClass: 60), device: device)
        let w = device.read(e.parameter(named: "st_gcn_networks.9.tcn.2.weight")!.value)
        let mean = w.reduce(0, +) / Float(w.count)
        let std = (w.reduce(0) { $0 + ($1 - mean) * ($1 - mean) } / Float(w.count)).squareRoot()
        XCTAssertEqual(mean, 0, accuracy: 5e-4)
        XCTAssertEqual(std, 0.02, accuracy: 5e-4)
        let g = device.read(e.parameter(named: "st_gcn_networks.9.tcn.3.weight")!.value)
        let gm = g.reduce(0, +) / Float(g.count)
        XCTAssertEqual(gm, 1, accuracy: 0.01)
        XCTAssertTrue(g.contains { $0 != 1 }, "BN weights are drawn, not constant")
        XCTAssertTrue(device.read(e.parameter(named: "st_gcn_networks.9.tcn.2.bias")!.value).allSatisfy { $0 == 0 })
        XCTAssertTrue(device.read(e.parameter(named: "data_bn.bias")!.value).allSatisfy { $0 == 0 })
        XCTAssertTrue(device.read(e.parameter(named: "edge_importance.3")!.value).allSatisfy { $0 == 1 })
        XCTAssertTrue(device.read(e.buffers[1].value).allSatisfy { $0 == 1 }, "running_var starts at 1")
        // Same seed, same weights; another seed, other weights.
        let same = try encoder(.classifier(numClass: 60), device: device)
        XCTAssertEqual(device.read(same.parameters[2].value), device.read(e.parameters[2].value))
        let other = try STGCN(config: e.config, device: device, seed: 2)
        XCTAssertNotEqual(device.read(other.parameters[2].value), device.read(e.parameters[2].value))
    }

    func testBlockOutputShapesForReferenceInput() throws {
        let device = TestSupport.cpu()
        let e = try encoder(.classifier(numClass: 60), device: device)
        let ctx = try e.makeContext(samples: 4, frames: 50, persons: 2, requiresGrad: false)
        let input = TestSupport.uniform(count: 4 * 3 * 50 * 25 * 2, lo: -1, hi: 1, seed: 3, stream: 0)
        input.withUnsafeBufferPointer { device.upload($0, to: ctx.input) }
        let out = try e.forward(ctx.input, context: ctx, training: true)
        XCTAssertEqual(ctx.blockOutputShapes.map { $0.dims },
                       [[16, 8, 50, 25], [16, 8, 50, 25], [16, 8, 50, 25], [16, 8, 50, 25],
                        [32, 8, 25, 25], [32, 8, 25, 25], [32, 8, 25, 25],
                        [64, 8, 13, 25], [64, 8, 13, 25], [256, 8, 13, 25]])
        XCTAssertEqual(out.representation.shape, [4, 256])
        XCTAssertEqual(out.output.shape, [4, 60])
        let values = device.read(out.output)
        XCTAssertTrue(values.allSatisfy { $0.isFinite })
        XCTAssertTrue(values.contains { $0 != 0 })

        let pre = try encoder(.projection(hidden: 256, out: 128), device: device)
        let ctx2 = try pre.makeContext(samples: 4, frames: 50, persons: 2, requiresGrad: false)
        input.withUnsafeBufferPointer { device.upload($0, to: ctx2.input) }
        XCTAssertEqual(try pre.forward(ctx2.input, context: ctx2, training: false).output.shape, [4, 128])
    }

    func testDataBatchNormChannelOrderIsJointMajor() throws {
        // With one channel of one joint shifted, only BN channel v·3 + c sees it: its running
        // mean moves by momentum · shift; every other running mean stays 0.
        let device = TestSupport.cpu()
        let e = try encoder(.none, device: device)
        let ctx = try e.makeContext(samples: 2, frames: 4, persons: 2, requiresGrad: false)
        var x = [Float](repeating: 0, count: ctx.geometry.count)
        let (cSel, vSel) = (2, 7)
        for n in 0..<2 { for t in 0..<4 { for m in 0..<2 {
            x[(((n * 3 + cSel) * 4 + t) * 25 + vSel) * 2 + m] = 5
        } } }
        x.withUnsafeBufferPointer { device.upload($0, to: ctx.input) }
        _ = try e.forwardFeatures(ctx.input, context: ctx, training: true)
        let rm = device.read(e.dataBN.bn.runningMean.value)
        for ch in 0..<75 {
            XCTAssertEqual(rm[ch], ch == vSel * 3 + cSel ? 0.5 : 0, accuracy: 1e-6, "channel \(ch)")
        }
        XCTAssertEqual(e.dataBN.bn.numBatchesTracked.value, 1)
    }
}
