System.Console.WriteLine("shrink");
