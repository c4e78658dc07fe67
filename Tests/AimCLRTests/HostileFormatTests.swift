import CPUBackend
import Foundation
import TestSupport
import XCTest
@testable import AimCLR
import NN
import Skeleton

/// Checkpoint and configuration readers against thousands of mutated files (see FuzzSupport).
final class HostileFormatTests: XCTestCase {
    func fixture(_ name: String) -> String {
        URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("Fixtures/\(name)").path
    }

    func testSafeTensorsReaderSurvivesMutations() throws {
        let file = SafeTensors(entries: [
            ("encoder_q.fc.weight", HostTensor(shape: [2, 3], floats: [1, 2, 3, 4, 5, 6])),
            ("queue_ptr", HostTensor(shape: [1], int64s: [5])),
            ("scalar", HostTensor(shape: [], floats: [0.5])),
        ], metadata: ["format": "aimclr-pretrain-1", "epoch": "3"])
        let valid = [UInt8](file.encode())
        XCTAssertEqual(try SafeTensors.decode(Data(valid)), file)
        fuzz("safetensors", valid: valid, label: "fuzz.safetensors", seed: 60, count: 4000) { bytes in
            _ = try SafeTensors.decode(Data(bytes), file: "fuzz.safetensors")
        }
        // A shape whose element count overflows Int, and one far larger than its bytes.
        for shape in ["[4294967296,4294967296,16]", "[1000000000,1000000000]"] {
            let header = #"{"t":{"dtype":"F32","shape":\#(shape),"data_offsets":[0,4]}}"#
            var bytes = withUnsafeBytes(of: UInt64(header.utf8.count).littleEndian, Array.init) + Array(header.utf8)
            bytes += [0, 0, 0, 0]
            XCTAssertThrowsError(try SafeTensors.decode(Data(bytes), file: "shape.safetensors")) {
                XCTAssertTrue("\($0)".contains("shape.safetensors"), "\($0)")
            }
        }
    }

    func testTorchZipCheckpointReaderSurvivesMutations() throws {
        let dir = try scratchFolder("pt-zip")
        let path = dir.appendingPathComponent("fuzz.pt").path
        let valid = [UInt8](try Data(contentsOf: URL(fileURLWithPath: fixture("tiny_state_dict.pt"))))
        fuzz(".pt (zip)", valid: valid, label: path, seed: 70, count: 2500) { bytes in
            try Data(bytes).write(to: URL(fileURLWithPath: path))
            _ = try TorchCheckpoint.read(path: path)
        }
        // Through the content-sniffing entry point as well.
        fuzz("weights file (zip)", valid: valid, label: path, seed: 71, count: 500) { bytes in
            try Data(bytes).write(to: URL(fileURLWithPath: path))
            _ = try WeightsFile.read(path: path)
        }
    }

    func testTorchLegacyCheckpointReaderSurvivesMutations() throws {
        let dir = try scratchFolder("pt-legacy")
        let path = dir.appendingPathComponent("fuzz_legacy.pt").path
        let valid = [UInt8](try Data(contentsOf: URL(fileURLWithPath: fixture("tiny_state_dict_legacy.pt"))))
        fuzz(".pt (legacy)", valid: valid, label: path, seed: 80, count: 3000) { bytes in
            try Data(bytes).write(to: URL(fileURLWithPath: path))
            _ = try TorchCheckpoint.read(path: path)
        }
    }

    static let referenceYAML = """
    work_dir: ./work_dir/ntu60_cv/aimclr_joint/pretext
    # feeder
    train_feeder: feeder.ntu_feeder.Feeder_triple
    train_feeder_args:
      data_path: ./data/NTU-RGB-D/xview/train_position.npy
      label_path: ./data/NTU-RGB-D/xview/train_label.pkl
      shear_amplitude: 0.5
      temperal_padding_ratio: 6
      mmap: True
      aug_method: '12345'
    # model
    model: net.aimclr.AimCLR
    model_args:
      base_encoder: net.st_gcn.Model
      pretrain: True
      feature_dim: 128
      queue_size: 32768
      momentum: 0.999
      Temperature: 0.07
      mlp: True
      in_channels: 3
      hidden_channels: 16
      hidden_dim: 256
      num_class: 60
      dropout: 0.5
      graph_args:
        layout: 'ntu-rgb+d'
        strategy: 'spatial'
      edge_importance_weighting: True
    # optim
    nesterov: False
    weight_decay: 1e-4
    base_lr: 0.1
    optimizer: SGD
    step: [250]
    # training
    device: [0]
    batch_size: 128
    test_batch_size: 128
    num_epoch: 300
    stream: 'joint'
    mining_epoch: 150
    topk: 1
    """

    /// The engine's own keys beside the reference ones: read when well typed, named when not.
    func testYAMLConfigReadsTheEngineKeys() throws {
        let dir = try scratchFolder("yaml-keys")
        defer { try? FileManager.default.removeItem(at: dir) }
        let path = dir.appendingPathComponent("pretext.yaml").path
        try Data((Self.referenceYAML + "\nqueue_warmup: true\nkeep_temporal_columns: true\n").utf8)
            .write(to: URL(fileURLWithPath: path))
        let (config, unknown) = try PretrainConfig.load(yaml: path)
        XCTAssertTrue(config.queueWarmup)
        XCTAssertEqual(config.keepTemporalColumns, true)
        XCTAssertTrue(config.keepsTemporalColumns(on: CPUDevice(threads: 1)))
        XCTAssertFalse(unknown.contains("queue_warmup"))
        // auto (also the default): rebuilt on the CPU backend, kept only on OpenCL GPUs with memory to spare.
        try Data((Self.referenceYAML + "\nkeep_temporal_columns: auto\n").utf8).write(to: URL(fileURLWithPath: path))
        let auto = try PretrainConfig.load(yaml: path).0
        XCTAssertNil(auto.keepTemporalColumns)
        XCTAssertNil(PretrainConfig().keepTemporalColumns)
        XCTAssertFalse(auto.keepsTemporalColumns(on: CPUDevice(threads: 1)))
        try Data((Self.referenceYAML + "\nkeep_temporal_columns: sometimes\n").utf8).write(to: URL(fileURLWithPath: path))
        XCTAssertThrowsError(try PretrainConfig.load(yaml: path)) { XCTAssertTrue("\($0)".contains("keep_temporal_columns"), "\($0)") }
        try Data((Self.referenceYAML + "\nqueue_warmup: 3\n").utf8).write(to: URL(fileURLWithPath: path))
        XCTAssertThrowsError(try PretrainConfig.load(yaml: path)) { XCTAssertTrue("\($0)".contains("queue_warmup"), "\($0)") }
    }

    func testYAMLConfigReaderSurvivesMutations() throws {
        let dir = try scratchFolder("yaml")
        let path = dir.appendingPathComponent("pretext.yaml").path
        let valid = Array(Self.referenceYAML.utf8)
        try Data(valid).write(to: URL(fileURLWithPath: path))
        XCTAssertEqual(try PretrainConfig.load(yaml: path).0.queueSize, 32768)
        fuzz("YAML config", valid: valid, label: path, seed: 90, count: 1500) { bytes in
            try Data(bytes).write(to: URL(fileURLWithPath: path))
            _ = try PretrainConfig.load(yaml: path)
        }
        // Hostile constructs refused up front, naming the file.
        let hostile = [
            String(repeating: "[", count: 5000) + String(repeating: "]", count: 5000),
            "a: &a [x, x, x, x, x, x, x, x, x]\nb: &b [*a, *a, *a, *a, *a, *a, *a, *a]\nc: [*b, *b, *b, *b, *b, *b, *b]\n",
            "seed: -1\n",
            "[iz%_sizegs]: Onidden_c ne\n",     // a sequence as a key: Yams itself traps on it (found by libFuzzer)
            "model_args:\n  {a: 1}: 2\n",
            "hidden_channels: 0\n",
            "queue_size: 9223372036854775807\nbatch_size: 1\n",
        ]
        for text in hostile {
            try Data(text.utf8).write(to: URL(fileURLWithPath: path))
            XCTAssertThrowsError(try PretrainConfig.load(yaml: path), text) { XCTAssertTrue("\($0)".contains(path), "\($0)") }
        }
    }
}
