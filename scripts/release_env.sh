# Sourced by every release build of the functions (make package, make bench, make sam-build), so
# they share one feature resolution and one set of flags, and reuse one another's artifacts.
#
# Non-PIE executables: a PIE Lambda binary of the AWS SDK carries ~21,000 relocations (500 KB of
# .rela.dyn, 330 KB of .data.rel.ro) that the loader reads and applies at every cold start,
# ~190 page faults a hello-world function has not. Lambda runs no ASLR-dependent code of ours, so
# the executables are linked non-PIE (`-no-pie` after rustc's own `-pie`: the last one wins), and
# the linker resolves those relocations itself. The code stays position-independent: a static
# relocation model would do the same, but crc-fast (the S3 client's checksums) always builds a
# cdylib too, which cannot link from non-PIC code. Cargo applies RUSTFLAGS to target artifacts
# only when --target is given, as cargo-lambda always gives it, so build scripts and proc macros
# keep theirs.
export RUSTFLAGS="${RUSTFLAGS:-} -C link-arg=-no-pie"
