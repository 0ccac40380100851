"""Generic machinery of learned denoiser families, apart from any one architecture."""
