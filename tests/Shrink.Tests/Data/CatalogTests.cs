using Shrink.Data;
using Shrink.Graph;

namespace Shrink.Tests.Data;

public class CatalogTests
{
    [Fact]
    public void Missing_data_set_lists_every_place_searched_and_how_to_get_it()
    {
        using var dir = new TempDir();
        string[] roots = [dir.File("env"), dir.File("cwd/data"), dir.File("system")];
        Directory.CreateDirectory(Path.Combine(roots[2], "fashion-mnist")); // exists but empty
        var e = Assert.Throws<ShrinkException>(() => DatasetCatalog.Load("fashion-mnist", roots));
        foreach (string r in roots) Assert.Contains(Path.Combine(r, "fashion-mnist"), e.Message);
        Assert.Contains("none of the expected", e.Message);
        Assert.Contains("apt-get install dataset-fashion-mnist", e.Message);

        e = Assert.Throws<ShrinkException>(() => DatasetCatalog.Load("cifar10", roots));
        Assert.Contains("data_batch_1.bin", e.Message);
        e = Assert.Throws<ShrinkException>(() => DatasetCatalog.Load("mnist", roots));
        Assert.Contains("train-images-idx3-ubyte", e.Message);
    }

    [Fact]
    public void Default_roots_are_env_then_data_then_system()
    {
        var roots = DatasetCatalog.DefaultSearchRoots("/srv/shrink", "/home/u/proj");
        Assert.Equal(["/srv/shrink", "/home/u/proj/data", "/usr/share/datasets"], roots);
        Assert.Equal(["/home/u/proj/data", "/usr/share/datasets"], DatasetCatalog.DefaultSearchRoots(null, "/home/u/proj"));
        Assert.Equal(["/home/u/proj/data", "/usr/share/datasets"], DatasetCatalog.DefaultSearchRoots("", "/home/u/proj"));
        Assert.Equal("/home/u/proj/rel", DatasetCatalog.DefaultSearchRoots("rel", "/home/u/proj")[0]);
    }

    [Fact]
    public void First_root_with_a_complete_data_set_wins()
    {
        using var dir = new TempDir();
        string[] roots = [dir.File("a"), dir.File("b"), dir.File("c")];
        DataFixtures.WriteIdx(dir.Sub("b/mnist"), 8, 2);
        DataFixtures.WriteIdx(dir.Sub("c/mnist"), 9, 3);
        Assert.Equal(8, DatasetCatalog.Load("mnist", roots).Train.Count);

        // An incomplete set in the first root is passed over (and reported if nothing else is found).
        DataFixtures.WriteIdx(dir.Sub("a/mnist"), 5, 1);
        File.Delete(Path.Combine(roots[0], "mnist", "t10k-labels-idx1-ubyte"));
        var s = DatasetCatalog.Load("mnist", roots);
        Assert.Equal(8, s.Train.Count);
        Assert.Equal(Path.Combine(roots[1], "mnist"), s.Source);

        DataFixtures.WriteIdx(dir.Sub("a/mnist"), 5, 1);
        Assert.Equal(5, DatasetCatalog.Load("MNIST", roots).Train.Count);

        var e = Assert.Throws<ShrinkException>(() => DatasetCatalog.Load("mnist", [roots[2] + "x", dir.File("none")]));
        Assert.Contains("not found", e.Message);
    }

    [Fact]
    public void Aliases_and_paths()
    {
        using var dir = new TempDir();
        DataFixtures.WriteCifar10(dir.Sub("cifar10"), 1, 1);
        var s = DatasetCatalog.Load("CIFAR-10", [dir.Path]);
        Assert.Equal("cifar10", s.Name);
        Assert.Equal(5, s.Train.Count);

        string path = Path.Combine(dir.Path, "cifar10");
        Assert.Equal(5, DatasetCatalog.Load(path, []).Train.Count);
        Assert.Equal(5, DatasetCatalog.Load(path + "/", []).Train.Count);

        var e = Assert.Throws<ShrinkException>(() => DatasetCatalog.Load(Path.Combine(dir.Path, "nope"), []));
        Assert.Contains(Path.Combine(dir.Path, "nope"), e.Message);
        Assert.Contains("does not exist", e.Message);
    }

    [Fact]
    public void Loaded_splits_are_named_and_consistent()
    {
        using var dir = new TempDir();
        DataFixtures.WriteIdx(dir.Sub("mnist"), 20, 4);
        var s = DatasetCatalog.Load("mnist", [dir.Path]);
        Assert.Equal("mnist/train", s.Train.Name);
        Assert.Equal("mnist/test", s.Test.Name);
        Assert.Null(s.Validation);
        Assert.Contains("mnist", DatasetCatalog.KnownNames);
    }
}
