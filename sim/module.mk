# sim: the simulated hypervisor + xenstored.
PROGS += xnet-simd
xnet-simd_MAIN := sim/simd_main.c
MAINS += $(xnet-simd_MAIN)
PROGS += xnet-store-bench
xnet-store-bench_MAIN := sim/store_bench_main.c
MAINS += $(xnet-store-bench_MAIN)
