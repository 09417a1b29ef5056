# bench: xnet-bench, the measurement harness behind `xnet bench`.
PROGS += xnet-bench
xnet-bench_MAIN := bench/bench_main.c
MAINS += $(xnet-bench_MAIN)
