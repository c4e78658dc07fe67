import Foundation
import XCTest
@testable import Skeleton

private func hex(_ s: String) -> [UInt8] {
    var out: [UInt8] = []; var i = s.startIndex
    while i < s.endIndex { let j = s.index(i, offsetBy: 2); out.append(UInt8(s[i..<j], radix: 16)!); i = j }
    return out
}

final class PickleTests: XCTestCase {
    // pickle.dumps({'a': [1, -2, 3.5, None, True, False, 300, 70000, -5],
    //               'b': (b'xy', 2**40, -2**40, 'é'), 'c': ()}, protocol=4) from CPython 3.11.
    let protocol4 = "80049553000000000000007d94288c0161945d94284b014afeffffff47400c0000000000004e88894d2c014a701101004afbffffff658c0162942843027879948a060000000000018a060000000000ff8c02c3a99474948c01639429752e"

    func testDecodesProtocol4Containers() throws {
        var u = Unpickler(bytes: hex(protocol4))
        let v = try u.load()
        XCTAssertEqual(v["a"], .list([.int(1), .int(-2), .float(3.5), .none, .bool(true), .bool(false), .int(300), .int(70000), .int(-5)]))
        XCTAssertEqual(v["b"], .tuple([.bytes([0x78, 0x79]), .int(1 << 40), .int(-(1 << 40)), .string("é")]))
        XCTAssertEqual(v["c"], .tuple([]))
    }

    func testMemoSharesTheFilledList() throws {
        // l = []; t = (l, l); l.append(7); pickle.dumps(t, protocol=4)
        var u = Unpickler(bytes: hex("8004950a000000000000005d944b0761680086942e"))
        XCTAssertEqual(try u.load(), .tuple([.list([.int(7)]), .list([.int(7)])]))
    }

    func testGlobalReduceObjects() throws {
        // collections.OrderedDict([('k', 1)]) with protocol 2: GLOBAL, EMPTY_TUPLE, REDUCE, SETITEM on the
        // result. torch.save writes state dicts this way, so OrderedDict() decodes as a dict.
        var u = Unpickler(bytes: hex("800263636f6c6c656374696f6e730a4f726465726564446963740a71002952710158010000006b71024b01732e"))
        XCTAssertEqual(try u.load(), .dict([(.string("k"), .int(1))]))
        // SETITEM on any other class instance is still malformed rather than guessed at.
        var w = Unpickler(bytes: hex("8002636275696c74696e730a6f626a6563740a71002952710158010000006b71024b01732e"))
        XCTAssertThrowsError(try w.load()) { XCTAssertTrue("\($0)".contains("SETITEM target is not a dict")) }
        // GLOBAL + BINPERSID + REDUCE + BUILD, as in a PyTorch data.pkl fragment.
        var bytes: [UInt8] = [0x80, 0x02]
        bytes += Array("ctorch._utils\n_rebuild_tensor_v2\n".utf8)
        bytes += [0x28, 0x58, 1, 0, 0, 0, 0x73, 0x51, 0x4B, 0x00, 0x74] // (('s' persid), 0) tuple
        bytes += [0x52, 0x7D, 0x62, 0x2E] // REDUCE, EMPTY_DICT, BUILD, STOP
        var v = Unpickler(bytes: bytes)
        XCTAssertEqual(try v.load(), .object(callable: .global(module: "torch._utils", name: "_rebuild_tensor_v2"),
                                             args: .tuple([.persistent(.string("s")), .int(0)]), state: .dict([])))
    }

    func testUnsupportedOpcodeAndTruncationNameTheOffset() {
        var u = Unpickler(bytes: [0x80, 0x02, 0x5D, 0x56, 0x2E], source: "x.pkl") // 'V' UNICODE (text) unsupported
        XCTAssertThrowsError(try u.load()) { e in
            XCTAssertEqual(e as? PickleError, .unsupportedOpcode(source: "x.pkl", opcode: 0x56, offset: 3))
            XCTAssertTrue("\(e)".contains("x.pkl: byte 3"))
        }
        var t = Unpickler(bytes: Array(hex(protocol4).prefix(40)), source: "t.pkl")
        XCTAssertThrowsError(try t.load()) { XCTAssertTrue("\($0)".hasPrefix("t.pkl: byte")) }
        var s = Unpickler(bytes: [0x80, 0x02, 0x65], source: "s.pkl")
        XCTAssertThrowsError(try s.load()) { XCTAssertTrue("\($0)".contains("no MARK")) }
    }

    func testReadsReferenceLabelFilesBothProtocols() throws {
        let json = try Fixtures.json("ntu/expected/gendata_label.json") as! [String: Any]
        let names = json["names"] as! [String], labels = json["labels"] as! [Int]
        for f in ["ntu/expected/gendata_label.pkl", "ntu/expected/gendata_label.py36_protocol3.pkl"] {
            let l = try LabelFile.read(try Fixtures.path(f))
            XCTAssertEqual(l.names, names, f); XCTAssertEqual(l.labels, labels, f)
        }
    }

    func testWriterRoundTripsAndMatchesCPythonEncoding() throws {
        let dir = try makeTempDir(self)
        let l = LabelFile(names: (0..<2500).map { "S\($0).skeleton" }, labels: (0..<2500).map { $0 % 60 } + [])
        try l.write(to: dir + "/l.pkl")
        XCTAssertEqual(try LabelFile.read(dir + "/l.pkl"), l)
        // Integers of every width decode to themselves.
        let wide = [0, 255, 256, 65535, 65536, -1, Int(Int32.max), Int(Int32.min), 1 << 40, -(1 << 40), Int.max, Int.min]
        var u = Unpickler(bytes: Pickler.encodeNamesAndLabels(names: wide.map(String.init), labels: wide))
        XCTAssertEqual(try u.load(), .tuple([.list(wide.map { .string(String($0)) }), .list(wide.map { .int($0) })]))
        // CPython's protocol-2 opcodes for (['a'], [1, 300]) without its memo (BINPUT) entries.
        XCTAssertEqual(Pickler.encodeNamesAndLabels(names: ["a"], labels: [1, 300]),
                       hex("80025d285801000000616" + "55d284b014d2c0165862e"))
    }
}
