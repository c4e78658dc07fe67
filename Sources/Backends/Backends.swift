// Module Backends: device selection over the CPU and OpenCL backends.
