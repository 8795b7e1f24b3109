// Jest setup (every test file): the library's default device is the CPU unless the run asks for
// another (MAMBA_SPEECH_TEST_DEFAULT_DEVICE=cuda). Test files name 'cuda' explicitly for their
// CUDA cases (describeCuda / testDevices), so on a GPU machine the same files exercise both
// devices, and code that relies on the default device (collate, randn, models) stays on the CPU
// where the tests' float64 references and bitwise-resume checks were written for it.
process.env.MAMBA_SPEECH_DEVICE = process.env.MAMBA_SPEECH_TEST_DEFAULT_DEVICE || 'cpu';
