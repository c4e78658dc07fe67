// Module OpenCLBackend.
