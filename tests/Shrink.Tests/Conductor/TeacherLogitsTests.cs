using Shrink.Conductor;
using Shrink.Data;
using Shrink.Execution;
using Shrink.Zoo;

namespace Shrink.Tests.Conductor;

public class TeacherLogitsTests
{
    /// <summary>The rows of the table are what the teacher says of those images in any batch (a shuffled one here).</summary>
    [Fact]
    public void Rows_are_the_teachers_logits_of_those_images()
    {
        var data = DatasetCatalog.Load("fashion-mnist");
        var images = data.Test.Subset(300, seed: 4);
        var norm = data.ComputeNormalization();
        var teacher = new Executor(ModelZoo.Create("lenet5", seed: 3));
        var table = TeacherLogits.TryCompute(teacher, images, norm, classes: 10)!;
        var loader = new DataLoader(images, new DataLoaderOptions { BatchSize = 37, Shuffle = true, Seed = 9, Normalization = norm });
        int batches = 0;
        foreach (var batch in loader.Epoch(1))
        {
            using var direct = teacher.Run(batch.Images);
            using var rows = table.Rows(batch.Indices);
            Assert.Equal(direct.Shape, rows.Shape);
            for (int i = 0; i < direct.Length; i++)
                Assert.True(Math.Abs(direct.Span[i] - rows.Span[i]) <= 1e-4f * (1 + Math.Abs(direct.Span[i])), $"element {i} of batch {batches}");
            batches++;
        }
        Assert.Equal(9, batches);
    }

    [Fact]
    public void A_table_beyond_the_limit_is_not_kept()
    {
        var data = DatasetCatalog.Load("fashion-mnist");
        var teacher = new Executor(ModelZoo.Create("lenet5", seed: 3));
        Assert.Null(TeacherLogits.TryCompute(teacher, data.Test.Subset(100, seed: 4), data.ComputeNormalization(), classes: 10, maxFloats: 999));
    }
}
