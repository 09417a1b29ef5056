# sim: the simulated hypervisor + xenstored.
PROGS += xnet-simd
xnet-simd_MAIN := sim/simd_main.c
MAINS += $(xnet-simd_MAIN)
