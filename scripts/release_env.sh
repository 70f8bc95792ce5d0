# Sourced by every release build of the functions (make package, make bench, make sam-build), so
# they share one feature resolution and one set of flags, and reuse one another's artifacts.
#
# Non-PIE executables: a PIE Lambda binary of the AWS SDK carries ~21,000 relocations (500 KB of
# .rela.dyn, 330 KB of .data.rel.ro) that the loader reads and applies at every cold start,
# ~190 page faults a hello-world function has not. Lambda runs no ASLR-dependent code of ours; a
# static relocation model links them away. Cargo applies RUSTFLAGS to target artifacts only when
# --target is given, as cargo-lambda always gives it, so build scripts and proc macros keep theirs.
export RUSTFLAGS="${RUSTFLAGS:-} -C relocation-model=static"
