import COpenCL
import Compute

/// EADM (spec §2.6) on the device (`Kernels/eadm.cl`): plane statistics and attention (kept in
/// `scale` until the last kernel replaces it), spatial mask, batch-global rescale factors and
/// the masked output, with no host round trip. `scale` must not alias `x`.
extension OpenCLDevice {
    public func eadmForward(x: Tensor, shape: ActivationShape, threshold: Float, lambda: Float,
                            noOp: Bool, scale: Tensor, y: Tensor, rescales: Tensor?) {
        let c = shape.channels, n = shape.batch, t = shape.frames, v = shape.joints
        let count = shape.count, planes = c * n, plane = t * v
        guard let cost = errors.check({ try OpContract.eadmForward(x: x, shape: shape, noOp: noOp, scale: scale, y: y,
                                                                    rescales: rescales) })
        else { return }
        op("eadmForward", cost) {
            if noOp {
                fill(scale, value: 1)
                copy(x, srcOffset: 0, to: y, dstOffset: 0, count: count)
                if let r = rescales { fill(r, value: 1) }
                return
            }
            let kept = scratch(planes, "eadmForward")  // holds ints (same size as floats)
            let spatial = scratch(n * v, "eadmForward")
            let factors = scratch(2, "eadmForward")
            launch(CLKernel.eadm_plane_stats(.tensor(x), .int(plane), .float(lambda), .float(threshold),
                                             .tensor(scale), .tensor(kept), .localPerItem(4),
                                             .localPerItem(4)), groups: planes)
            launch(CLKernel.eadm_spatial(.tensor(scale), .int(c), .int(n), .int(t), .int(v), .float(threshold),
                                         .tensor(spatial), .localPerItem(4)), groups: n * v)
            launch(CLKernel.eadm_factors(.tensor(kept), .int(planes), .tensor(spatial), .int(n * v), .int(count),
                                         .tensor(factors), .localPerItem(4)), groups: 1)
            launch(CLKernel.eadm_apply(.tensor(x), .tensor(spatial), .tensor(factors), .int(n), .int(t), .int(v),
                                       .int(count), .float(threshold), .tensor(scale), .tensor(y)), count: count)
            if let r = rescales { copy(factors, srcOffset: 0, to: r, dstOffset: 0, count: 2) }
        }
    }
}
