using System.Diagnostics;
using System.Text;
using Shrink.Graph;

namespace Shrink.Data;

/// <summary>
/// Finds and loads data sets by name or path (the command line's <c>--dataset</c>).
/// <para>A <b>name</b> (<c>fashion-mnist</c>, <c>mnist</c>, <c>cifar10</c>, <c>cifar100</c>, or any other folder name)
/// is looked up as <c>$SHRINK_DATA/&lt;name&gt;</c>, then <c>./data/&lt;name&gt;</c>, then
/// <c>/usr/share/datasets/&lt;name&gt;</c>; the first folder that holds a complete data set wins. A <b>path</b>
/// (anything with a directory separator, or an existing folder) is used as is.</para>
/// <para>The format is detected from the files in the folder (or in a <c>cifar-10-batches-bin</c> /
/// <c>cifar-100-binary</c> subfolder, as the CIFAR archives extract):</para>
/// <list type="bullet">
/// <item>IDX (MNIST, Fashion-MNIST): <c>train-images-idx3-ubyte</c>, <c>train-labels-idx1-ubyte</c>,
/// <c>t10k-images-idx3-ubyte</c>, <c>t10k-labels-idx1-ubyte</c>, each raw or <c>.gz</c> (a '.' before "idx" works too);</item>
/// <item>CIFAR-10 binary: <c>data_batch_1.bin</c> … <c>data_batch_5.bin</c>, <c>test_batch.bin</c>;</item>
/// <item>CIFAR-100 binary: <c>train.bin</c>, <c>test.bin</c> (fine labels used);</item>
/// <item>NumPy: <c>train_images.npy</c>, <c>train_labels.npy</c>, <c>test_images.npy</c>, <c>test_labels.npy</c>
/// (see <see cref="NpyDatasetReader"/>).</item>
/// </list>
/// </summary>
public static class DatasetCatalog
{
    public const string EnvironmentVariable = "SHRINK_DATA";
    public const string SystemRoot = "/usr/share/datasets";

    private sealed record Known(string Name, string[] Aliases, int ClassCount, string HowToGet);

    private static readonly Known[] KnownSets =
    [
        new("fashion-mnist", ["fashion_mnist", "fashionmnist", "fmnist"], 10,
            "Install it with `apt-get install dataset-fashion-mnist` (Debian/Ubuntu; it installs into /usr/share/datasets/fashion-mnist), " +
            "or put train-images-idx3-ubyte.gz, train-labels-idx1-ubyte.gz, t10k-images-idx3-ubyte.gz and t10k-labels-idx1-ubyte.gz " +
            "(from the zalandoresearch/fashion-mnist repository) into ./data/fashion-mnist/ or $SHRINK_DATA/fashion-mnist/."),
        new("mnist", [], 10,
            "Put the four MNIST IDX files train-images-idx3-ubyte.gz, train-labels-idx1-ubyte.gz, t10k-images-idx3-ubyte.gz and " +
            "t10k-labels-idx1-ubyte.gz (gzipped or not) into ./data/mnist/ or $SHRINK_DATA/mnist/."),
        new("cifar10", ["cifar-10", "cifar_10"], 10,
            "Download the CIFAR-10 binary version (cifar-10-binary.tar.gz) and extract it into ./data/cifar10/ or $SHRINK_DATA/cifar10/: " +
            "data_batch_1.bin … data_batch_5.bin and test_batch.bin (the cifar-10-batches-bin folder the archive creates is fine)."),
        new("cifar100", ["cifar-100", "cifar_100"], 100,
            "Download the CIFAR-100 binary version (cifar-100-binary.tar.gz) and extract it into ./data/cifar100/ or $SHRINK_DATA/cifar100/: " +
            "train.bin and test.bin (the cifar-100-binary folder the archive creates is fine)."),
    ];

    private const string GenericHowTo =
        "A data set folder holds the IDX files of MNIST (train-images-idx3-ubyte[.gz], train-labels-idx1-ubyte[.gz], t10k-images-idx3-ubyte[.gz], " +
        "t10k-labels-idx1-ubyte[.gz]), the CIFAR-10 binary files (data_batch_1..5.bin, test_batch.bin), the CIFAR-100 binary files " +
        "(train.bin, test.bin), or NumPy arrays (train_images.npy, train_labels.npy, test_images.npy, test_labels.npy).";

    /// <summary>The names the design documents; others work as folder names.</summary>
    public static IReadOnlyList<string> KnownNames { get; } = KnownSets.Select(k => k.Name).ToArray();

    /// <summary>The search roots in order: $SHRINK_DATA (if set), ./data, /usr/share/datasets.</summary>
    public static IReadOnlyList<string> DefaultSearchRoots() =>
        DefaultSearchRoots(Environment.GetEnvironmentVariable(EnvironmentVariable), Environment.CurrentDirectory);

    /// <summary>The search roots for a given $SHRINK_DATA value (null or empty: unset) and current directory.</summary>
    public static IReadOnlyList<string> DefaultSearchRoots(string? shrinkData, string currentDirectory)
    {
        var roots = new List<string>(3);
        if (!string.IsNullOrWhiteSpace(shrinkData)) roots.Add(Path.GetFullPath(shrinkData, currentDirectory));
        roots.Add(Path.Combine(currentDirectory, "data"));
        roots.Add(SystemRoot);
        return roots;
    }

    /// <summary>Loads a data set by name or folder path, searching the default roots.</summary>
    public static DataSplits Load(string nameOrPath) => Load(nameOrPath, DefaultSearchRoots());

    /// <summary>Loads a data set by name (searched under <paramref name="searchRoots"/>, in order) or folder path.</summary>
    public static DataSplits Load(string nameOrPath, IReadOnlyList<string> searchRoots)
    {
        var (folder, layout, name) = Resolve(nameOrPath, searchRoots);
        return LoadFolder(folder, layout, name);
    }

    /// <summary>
    /// The folder a name or path resolves to, without loading it. Throws the "not found" <see cref="ShrinkException"/>
    /// (listing every place searched and how to get the data) when there is none.
    /// </summary>
    public static string Find(string nameOrPath, IReadOnlyList<string> searchRoots) => Resolve(nameOrPath, searchRoots).Folder;

    /// <summary>Loads the data set in <paramref name="folder"/>, whose format is detected from its files.</summary>
    public static DataSplits LoadFolder(string folder, string? name = null)
    {
        name ??= CanonicalName(Path.GetFileName(Path.TrimEndingDirectorySeparator(Path.GetFullPath(folder))));
        var layout = Detect(folder);
        if (layout.Missing is not null || layout.Format is null)
            throw new ShrinkException($"Data set '{name}': '{folder}' {layout.Describe()}. {HowToGet(name)}");
        return LoadFolder(layout.Folder, layout, name);
    }

    private static DataSplits LoadFolder(string folder, Layout layout, string name)
    {
        try
        {
            var known = FindKnown(name);
            DataSplits splits = layout.Format switch
            {
                "idx" => LoadIdx(name, layout, known?.ClassCount),
                "cifar10-binary" => LoadCifar(name, layout, cifar100: false),
                "cifar100-binary" => LoadCifar(name, layout, cifar100: true),
                "npy" => LoadNpy(name, layout, known?.ClassCount),
                _ => throw new UnreachableException(layout.Format),
            };
            splits.CheckConsistent();
            return splits with { Name = name, Source = folder, Format = layout.Format! };
        }
        catch (ShrinkException e)
        {
            throw new ShrinkException($"Data set '{name}' in '{folder}' cannot be loaded: {e.Message} {HowToGet(name)}", e);
        }
        catch (OutOfMemoryException e)
        {
            throw new ShrinkException($"Data set '{name}' in '{folder}' does not fit in memory.", e);
        }
    }

    private static DataSplits LoadIdx(string name, Layout l, int? knownClasses)
    {
        Dataset Split(string imagesPath, string labelsPath, string split, int classes)
        {
            var (pixels, count, rows, cols) = IdxReader.ReadImages(imagesPath);
            var labels = IdxReader.ReadLabels(labelsPath);
            if (labels.Length != count)
                throw new ShrinkException($"'{labelsPath}' has {labels.Length} labels but '{imagesPath}' has {count} images.");
            CheckLabelRange(labels, classes, labelsPath);
            return new Dataset($"{name}/{split}", pixels, labels, 1, rows, cols, classes);
        }
        int classes = knownClasses ?? Math.Max(MaxLabel(IdxReader.ReadLabels(l.Files[1])), MaxLabel(IdxReader.ReadLabels(l.Files[3]))) + 1;
        Dataset train = null!, test = null!;
        RunBoth(() => train = Split(l.Files[0], l.Files[1], "train", classes), () => test = Split(l.Files[2], l.Files[3], "test", classes));
        return new DataSplits(train, test);
    }

    private static DataSplits LoadCifar(string name, Layout l, bool cifar100)
    {
        int classes = cifar100 ? 100 : 10;
        var trainFiles = l.Files.Take(l.Files.Length - 1).ToArray();
        (byte[] Pixels, int[] Labels) train = default, test = default;
        RunBoth(() => train = CifarReader.Read(trainFiles, cifar100), () => test = CifarReader.Read([l.Files[^1]], cifar100));
        const int c = CifarReader.Channels, s = CifarReader.Size;
        return new DataSplits(new Dataset($"{name}/train", train.Pixels!, train.Labels!, c, s, s, classes),
                              new Dataset($"{name}/test", test.Pixels!, test.Labels!, c, s, s, classes));
    }

    private static DataSplits LoadNpy(string name, Layout l, int? knownClasses)
    {
        NpyDatasetReader.Split train = null!, test = null!;
        RunBoth(() => train = NpyDatasetReader.Read(l.Files[0], l.Files[1]), () => test = NpyDatasetReader.Read(l.Files[2], l.Files[3]));
        int classes = knownClasses ?? Math.Max(MaxLabel(train.Labels), MaxLabel(test.Labels)) + 1;
        CheckLabelRange(train.Labels, classes, l.Files[1]);
        CheckLabelRange(test.Labels, classes, l.Files[3]);
        if ((train.Channels, train.Height, train.Width) != (test.Channels, test.Height, test.Width))
            throw new ShrinkException($"'{l.Files[0]}' holds {train.Channels}x{train.Height}x{train.Width} images but '{l.Files[2]}' holds " +
                                      $"{test.Channels}x{test.Height}x{test.Width}.");
        return new DataSplits(Make(train, "train"), Make(test, "test"));

        Dataset Make(NpyDatasetReader.Split s, string split) => s.Bytes is not null
            ? new Dataset($"{name}/{split}", s.Bytes, s.Labels, s.Channels, s.Height, s.Width, classes)
            : new Dataset($"{name}/{split}", s.Floats!, s.Labels, s.Channels, s.Height, s.Width, classes);
    }

    private static void RunBoth(Action a, Action b)
    {
        var task = Task.Run(b);
        try
        {
            a();
        }
        finally
        {
            // Wait for b even when a failed, so no reader outlives the call; a's error wins.
            try { task.Wait(); } catch (AggregateException) when (!task.IsCompletedSuccessfully) { }
        }
        if (task.Exception is { } e) System.Runtime.ExceptionServices.ExceptionDispatchInfo.Throw(e.InnerException!);
    }

    private static int MaxLabel(int[] labels) => labels.Length == 0 ? 0 : labels.Max();

    private static void CheckLabelRange(int[] labels, int classCount, string path)
    {
        for (int i = 0; i < labels.Length; i++)
            if ((uint)labels[i] >= (uint)classCount)
                throw new ShrinkException($"'{path}': label {labels[i]} of sample {i} is outside [0, {classCount}).");
    }

    // ---- resolution ----

    private static (string Folder, Layout Layout, string Name) Resolve(string nameOrPath, IReadOnlyList<string> searchRoots)
    {
        if (string.IsNullOrWhiteSpace(nameOrPath)) throw new ShrinkException("No data set given: pass a name (e.g. fashion-mnist) or a folder.");
        bool looksLikePath = nameOrPath.Contains('/') || nameOrPath.Contains('\\') || nameOrPath.StartsWith('.') ||
                             nameOrPath.StartsWith('~') || Path.IsPathRooted(nameOrPath);
        if (looksLikePath)
        {
            string folder = Path.GetFullPath(ExpandHome(nameOrPath));
            string name = CanonicalName(Path.GetFileName(Path.TrimEndingDirectorySeparator(folder)));
            if (File.Exists(folder))
                throw new ShrinkException($"Data set path '{nameOrPath}' is a file; give the folder that holds the data set files. {GenericHowTo}");
            if (!Directory.Exists(folder))
                throw new ShrinkException($"Data set folder '{folder}' does not exist. {HowToGet(name)}");
            var layout = Detect(folder);
            if (layout.Format is null || layout.Missing is not null)
                throw new ShrinkException($"Data set folder '{folder}' {layout.Describe()}. {HowToGet(name)}");
            return (layout.Folder, layout, name);
        }

        string canonical = CanonicalName(nameOrPath);
        var report = new StringBuilder();
        var candidates = new List<string>();
        foreach (string root in searchRoots)
        {
            candidates.Add(Path.Combine(root, canonical));
            if (!string.Equals(canonical, nameOrPath, StringComparison.Ordinal)) candidates.Add(Path.Combine(root, nameOrPath));
        }
        // A bare name that is not a known data set may still be a folder in the current directory.
        if (FindKnown(canonical) is null) candidates.Add(Path.GetFullPath(nameOrPath));
        foreach (string candidate in candidates.Distinct(StringComparer.Ordinal))
        {
            if (!Directory.Exists(candidate))
            {
                report.Append("\n  ").Append(candidate).Append(": not found");
                continue;
            }
            var layout = Detect(candidate);
            if (layout.Format is not null && layout.Missing is null) return (layout.Folder, layout, canonical);
            report.Append("\n  ").Append(candidate).Append(": ").Append(layout.Describe());
        }
        string envNote = searchRoots.Count > 0 ? "" : " (no search roots)";
        throw new ShrinkException(
            $"Data set '{nameOrPath}' not found{envNote}. Looked in (${EnvironmentVariable}, then ./data, then {SystemRoot}):{report}\n{HowToGet(canonical)}");
    }

    private static string ExpandHome(string path) =>
        path.StartsWith('~') ? Environment.GetFolderPath(Environment.SpecialFolder.UserProfile) + path[1..] : path;

    /// <summary>The catalogue name for a data set name or alias ("Fashion_MNIST" → "fashion-mnist"); unknown names are returned trimmed.</summary>
    public static string CanonicalName(string name)
    {
        string lower = name.Trim().ToLowerInvariant();
        foreach (var k in KnownSets)
            if (k.Name == lower || k.Aliases.Contains(lower)) return k.Name;
        return name.Trim();
    }

    private static Known? FindKnown(string name) => KnownSets.FirstOrDefault(k => k.Name == name);

    private static string HowToGet(string name) => FindKnown(name)?.HowToGet ?? GenericHowTo;

    // ---- format detection ----

    /// <summary>What a folder holds: a format and its files in a fixed order, or what is missing.</summary>
    private sealed record Layout(string Folder, string? Format, string[] Files, string? Missing)
    {
        public string Describe() => Format is null
            ? "holds none of the expected data set files"
            : Missing is not null ? $"holds an incomplete {Format} data set: {Missing} is missing" : $"holds a {Format} data set";
    }

    private static Layout Detect(string folder)
    {
        var layout = DetectHere(folder);
        if (layout.Format is not null) return layout;
        foreach (string sub in (string[])["cifar-10-batches-bin", "cifar-100-binary"])
        {
            string inner = Path.Combine(folder, sub);
            if (Directory.Exists(inner))
            {
                var l = DetectHere(inner);
                if (l.Format is not null) return l;
            }
        }
        return layout;
    }

    private static Layout DetectHere(string folder)
    {
        // IDX: train/t10k × images(idx3)/labels(idx1), with '-' or '.' before "idx", raw or gzipped.
        string? Idx(string stem, int rank)
        {
            foreach (string sep in (string[])["-", "."])
                foreach (string gz in (string[])["", ".gz"])
                {
                    string p = Path.Combine(folder, $"{stem}{sep}idx{rank}-ubyte{gz}");
                    if (File.Exists(p)) return p;
                }
            return null;
        }
        var idx = new[] { Idx("train-images", 3), Idx("train-labels", 1), Idx("t10k-images", 3), Idx("t10k-labels", 1) };
        string[] idxNames = ["train-images-idx3-ubyte[.gz]", "train-labels-idx1-ubyte[.gz]", "t10k-images-idx3-ubyte[.gz]", "t10k-labels-idx1-ubyte[.gz]"];
        if (idx.Any(p => p is not null))
            return Complete(folder, "idx", idx, idxNames);

        string[] npyNames = [NpyDatasetReader.TrainImages, NpyDatasetReader.TrainLabels, NpyDatasetReader.TestImages, NpyDatasetReader.TestLabels];
        var npy = npyNames.Select(n => Path.Combine(folder, n)).Select(p => File.Exists(p) ? p : null).ToArray();
        if (npy.Any(p => p is not null))
            return Complete(folder, "npy", npy, npyNames);

        string[] c10Names = ["data_batch_1.bin", "data_batch_2.bin", "data_batch_3.bin", "data_batch_4.bin", "data_batch_5.bin", "test_batch.bin"];
        var c10 = c10Names.Select(n => Path.Combine(folder, n)).Select(p => File.Exists(p) ? p : null).ToArray();
        if (c10.Any(p => p is not null))
            return Complete(folder, "cifar10-binary", c10, c10Names);

        string[] c100Names = ["train.bin", "test.bin"];
        var c100 = c100Names.Select(n => Path.Combine(folder, n)).Select(p => File.Exists(p) ? p : null).ToArray();
        if (c100.Any(p => p is not null))
            return Complete(folder, "cifar100-binary", c100, c100Names);

        return new Layout(folder, null, [], null);
    }

    private static Layout Complete(string folder, string format, string?[] found, string[] names)
    {
        var missing = names.Where((_, i) => found[i] is null).ToArray();
        return new Layout(folder, format, found.Select(p => p ?? "").ToArray(), missing.Length == 0 ? null : string.Join(", ", missing));
    }
}
