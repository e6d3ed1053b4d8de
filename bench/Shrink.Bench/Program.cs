Shrink.Bench.GemmBench.RunArgs(args);
