// Module CPUBackend.
