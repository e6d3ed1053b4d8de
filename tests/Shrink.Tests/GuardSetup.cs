using System.Runtime.CompilerServices;

namespace Shrink.Tests;

internal static class GuardSetup
{
    /// <summary>The whole suite runs with SHRINK_GUARD=1 (set before any Shrink type is touched, and inherited by the
    /// CLI processes the tests start): a kernel that writes past a tensor, an inference arena buffer or a Winograd
    /// workspace stops the run at once, naming the op, instead of corrupting the heap for a later crash.</summary>
    [ModuleInitializer]
    internal static void Enable() => Environment.SetEnvironmentVariable("SHRINK_GUARD", "1");
}
