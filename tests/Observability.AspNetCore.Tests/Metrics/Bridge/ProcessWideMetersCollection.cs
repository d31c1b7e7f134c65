namespace Observability.AspNetCore.Tests.Metrics.Bridge;

/// <summary>
/// Tests that create meters with <c>new Meter(...)</c>: such meters belong to no host, and every running app's bridge
/// exports them (as it must for a library's meters). Run in parallel, their instruments would appear in the
/// exposition of whichever app another test is scraping at that moment: a "bookings" counter that takes the name
/// from that app's own, or a name promtool rejects. They run one after the other, after the parallel classes.
/// </summary>
[CollectionDefinition(Name, DisableParallelization = true)]
public sealed class ProcessWideMetersCollection
{
    public const string Name = "Process-wide meters";
}
