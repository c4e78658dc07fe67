#!/usr/bin/env bash
# Runs the engine on a GPU host that has no Swift toolchain and no dev packages.
#
#   Benchmarks/gpu_host.sh bundle        # here: static-stdlib release build + the shared libraries it needs, in dist/gpu
#   Benchmarks/gpu_host.sh run [SECONDS] # on the GPU host (SECONDS: limit for bench step, default 200), from the repository root with dist/gpu.tar.xz (or dist/gpu) beside it
#   Benchmarks/gpu_host.sh ab [ROUNDS]   # on the GPU host: bench step with kept vs rebuilt im2col columns, alternating
#
# `run` checks for an OpenCL ICD of the GPU first, tunes CLBlast's GEMMs into $OUT/clblast-tuning.json
# (TUNE_SECONDS, default 240; the later steps run with that cache), then lists the devices, compares the forward pass
# of the committed PyTorch fixture on the GPU with the CPU backend (the parity check's command-line
# equivalent), times `bench step` on the GPU, and, when PyTorch with CUDA is present, the same
# iteration in PyTorch on the same GPU. Results go to $OUT (or dist/gpu/out).
set -euo pipefail
cd "$(dirname "$0")/.."
DIST=dist/gpu

bundle() {
    swift build -c release --static-swift-stdlib --product aimclr
    rm -rf "$DIST" && mkdir -p "$DIST/lib"
    cp .build/release/aimclr "$DIST/"
    # The libraries the binary links dynamically, except glibc and the OpenCL ICD loader's vendors.
    ldd .build/release/aimclr | awk '/=> \//{print $3}' | grep -E 'clblast|openblas|gfortran|quadmath|OpenCL|libgomp' \
        | while read -r lib; do cp -L "$lib" "$DIST/lib/"; done
    strip "$DIST/aimclr" "$DIST"/lib/*
    # One compressed file to carry to the GPU host (the unpacked bundle is larger than a carry allows).
    tar -C dist -cJf dist/gpu.tar.xz gpu
    ls -la "$DIST" "$DIST/lib" dist/gpu.tar.xz
}

# Unpacks the bundle if needed, puts its libraries on the library path and creates $1; registers
# the driver's OpenCL library with the loader when the driver is mounted but not registered (no
# nvidia entry in /etc/OpenCL/vendors), using a vendors folder under $1.
setup_opencl() {
    local out=$1
    [ -x "$DIST/aimclr" ] || tar -C dist -xJf dist/gpu.tar.xz
    mkdir -p "$out"
    export LD_LIBRARY_PATH="$PWD/$DIST/lib:${LD_LIBRARY_PATH:-}"
    echo "== GPU"; nvidia-smi -L 2>/dev/null || echo "(no nvidia-smi)"
    echo "== OpenCL ICDs"; ls /etc/OpenCL/vendors 2>/dev/null || echo "(no /etc/OpenCL/vendors)"
    local nv
    for nv in /usr/lib/x86_64-linux-gnu/libnvidia-opencl.so.1 /usr/lib64/libnvidia-opencl.so.1 \
              /usr/local/nvidia/lib64/libnvidia-opencl.so.1 /usr/local/nvidia/lib/libnvidia-opencl.so.1 \
              $(ldconfig -p 2>/dev/null | awk '/libnvidia-opencl.so.1/{print $NF}') ""; do
        [ -e "$nv" ] && break
    done
    echo "NVIDIA OpenCL library: ${nv:-not found}"
    if [ -n "$nv" ] && ! grep -qs nvidia /etc/OpenCL/vendors/*.icd; then
        mkdir -p "$out/vendors" && echo "$nv" > "$out/vendors/nvidia.icd"
        OCL_ICD_VENDORS="$(cd "$out/vendors" && pwd)"; export OCL_ICD_VENDORS
    fi
}

run() {
    local limit=${1:-200}
    local out=${OUT:-$DIST/out}
    local bin="$DIST/aimclr"
    mkdir -p "$out"
    # Line-buffered output, so that a step stopped by its time limit still shows what it printed.
    {
        setup_opencl "$out"
        # Tune CLBlast's GEMMs first (cache under $out, used by every later step), then list the
        # devices: the tensor-core probe's result and whether the cache applies.
        export AIMCLR_TUNING_CACHE="$out/clblast-tuning.json"
        echo "== aimclr tune (GEMM parameters, batch-128 shapes)"
        timeout "${TUNE_SECONDS:-240}" stdbuf -oL "$bin" tune --device opencl:0 --max-candidates 24 --runs 3 || true
        echo "== devices"; timeout 60 stdbuf -oL "$bin" devices || true
        echo "== --precision tf32 (the probe's verdict; no tensor-core kernels yet, so this refuses)"
        timeout 30 stdbuf -oL "$bin" bench step --device opencl --precision tf32 --runs 1 --json /dev/null || true
        echo "== forward parity: GPU vs CPU on the PyTorch fixture"
        F=Tests/AimCLRTests/Fixtures
        for d in cpu opencl; do
            timeout 60 stdbuf -oL "$bin" embed --device "$d" --weights $F/forward_encoder.pt --data $F/forward_input.npy \
                --out "$out/rep_$d.npy" --batch-size 2 || true
        done
        python3 - "$out" <<'PY' || true
import sys, numpy as np
o = sys.argv[1]; a, b = np.load(f"{o}/rep_cpu.npy"), np.load(f"{o}/rep_opencl.npy")
ref = np.load("Tests/AimCLRTests/Fixtures/forward_representation.npy")
print("max |gpu-cpu| / max|ref|:", float(abs(a - b).max() / abs(ref).max()), " max |gpu-pytorch|:", float(abs(b - ref).max()))
PY
        echo "== bench step on the GPU (OpenCL)"
        timeout "$limit" stdbuf -oL "$bin" bench step --device opencl --runs 5 --profile --profile-kernels --json "$out/bench-step.jsonl" || true
        echo "== bench step on the GPU, im2col rebuilt in the backward (the default on GPUs under 16 GiB)"
        timeout 60 stdbuf -oL "$bin" bench step --device opencl --runs 5 --no-keep-columns --json "$out/bench-step.jsonl" || true
        echo "== bench ops on the GPU (OpenCL, per-kernel figures)"
        timeout 90 stdbuf -oL "$bin" bench ops --device opencl --runs 5 --json "$out/bench-ops.jsonl" || true
        if python3 -c "import torch; assert torch.cuda.is_available()" 2>/dev/null; then
            echo "== PyTorch CUDA, same iteration"
            timeout 90 python3 Benchmarks/pytorch_reference.py --device cuda --iterations 5 | tee -a "$out/bench-step.jsonl"
            echo "== PyTorch CUDA, strict fp32 (no TF32, as the OpenCL kernels)"
            timeout 90 python3 Benchmarks/pytorch_reference.py --device cuda --iterations 5 --fp32 | tee -a "$out/bench-step.jsonl"
        fi
    } 2>&1 | tee "$out/gpu_host.log"
}

# A/B of the temporal-conv columns policy in one invocation: bench step alternating kept and
# rebuilt columns, ROUNDS times each, with a longer warm-up (the GPU's clocks ramp up).
ab() {
    local rounds=${1:-3}
    local out=${OUT:-$DIST/out}
    mkdir -p "$out"
    {
        setup_opencl "$out"
        for i in $(seq "$rounds"); do
            for policy in --keep-columns --no-keep-columns; do
                echo "== round $i $policy"
                timeout 60 stdbuf -oL "$DIST/aimclr" bench step --device opencl --warmup 5 --runs 5 $policy \
                    --json "$out/bench-ab.jsonl" 2>&1 | grep -E "columns|median" || true
            done
        done
    } 2>&1 | tee "$out/gpu_ab.log"
}

case "${1:-}" in
    bundle) bundle ;;
    run) shift; run "$@" ;;
    ab) shift; ab "$@" ;;
    *) echo "usage: $0 bundle | run [SECONDS] | ab [ROUNDS]"; exit 2 ;;
esac
