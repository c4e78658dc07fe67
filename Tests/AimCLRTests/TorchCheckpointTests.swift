import Foundation
import NN
import TestSupport
import XCTest
@testable import AimCLR

/// `.pt` import against files written by `torch.save` (see Fixtures/make_pt_fixtures.py).
final class TorchCheckpointTests: XCTestCase {
    func fixture(_ name: String) -> String {
        URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("Fixtures/\(name)").path
    }

    /// The values the fixture script wrote, recomputed.
    func checkReferenceValues(_ sd: [String: HostTensor], file: StaticString = #filePath, line: UInt = #line) {
        XCTAssertEqual(sd["encoder_q.data_bn.weight"], HostTensor(shape: [6], floats: (0..<6).map { Float($0) / 8 }), file: file, line: line)
        XCTAssertEqual(sd["encoder_q.st_gcn_networks.0.gcn.conv.weight"],
                       HostTensor(shape: [8, 3, 1, 1], floats: (0..<24).map { Float($0 - 12) / 16 }), file: file, line: line)
        // (4, 3) * 0.5 transposed: element (i, j) = (j * 3 + i) * 0.5.
        var transposed: [Float] = []
        for i in 0..<3 { for j in 0..<4 { transposed.append(Float(j * 3 + i) * 0.5) } }
        XCTAssertEqual(sd["encoder_q.fc.weight"], HostTensor(shape: [3, 4], floats: transposed), file: file, line: line)
        XCTAssertEqual(sd["encoder_q.fc.bias"], HostTensor(shape: [3], floats: [1.0, 1.25, 1.5]), file: file, line: line)
        XCTAssertEqual(sd["encoder_q.data_bn.num_batches_tracked"], HostTensor(shape: [], int64s: [42]), file: file, line: line)
        XCTAssertEqual(sd["encoder_q.edge_importance.0"],
                       HostTensor(shape: [2, 4], floats: (0..<8).map { Float(Double($0) / 3) }), file: file, line: line)
        XCTAssertEqual(sd.count, 6, file: file, line: line)
    }

    func testZipFormat() throws {
        checkReferenceValues(try TorchCheckpoint.read(path: fixture("tiny_state_dict.pt")))
    }

    func testLegacyFormat() throws {
        checkReferenceValues(try TorchCheckpoint.read(path: fixture("tiny_state_dict_legacy.pt")))
    }

    func testWrappedStateDict() throws {
        checkReferenceValues(try TorchCheckpoint.read(path: fixture("tiny_wrapped.pt")))
    }

    func testTruncatedAndGarbageFilesGiveClearErrors() throws {
        let bytes = try Data(contentsOf: URL(fileURLWithPath: fixture("tiny_state_dict.pt")))
        let dir = FileManager.default.temporaryDirectory
        for (name, data) in [("truncated.pt", bytes.prefix(bytes.count / 2)), ("garbage.pt", Data(repeating: 0x41, count: 100)),
                             ("empty.pt", Data())] {
            let url = ScratchPaths.register(dir.appendingPathComponent("aimclr-\(UUID().uuidString)-\(name)"))
            try data.write(to: url)
            XCTAssertThrowsError(try TorchCheckpoint.read(path: url.path)) { error in
                XCTAssertTrue("\(error)".contains(url.path), "error should name the file: \(error)")
            }
        }
    }
}
