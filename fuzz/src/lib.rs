//! Code shared by the fuzz targets (`fuzz_targets/`) and their stand-alone runners (`src/bin/`).

pub mod differential;
pub mod vmgen;
