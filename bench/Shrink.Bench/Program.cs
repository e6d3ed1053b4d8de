if (args.Length > 0 && args[0] == "lowrank") Shrink.Bench.LowRankBench.RunArgs(args[1..]);
else Shrink.Bench.GemmBench.RunArgs(args);
