namespace Observability.AspNetCore.Pipeline;

/// <summary>
/// The one low-frequency timer loop of a background monitor: runs a pass every interval until stopped, and outlives a
/// pass that throws (reported through Serilog's SelfLog; the next tick tries again).
/// </summary>
internal static class PeriodicPass
{
    public static async Task RunAsync(TimeSpan interval, Action pass, string name, CancellationToken stopping)
    {
        using var timer = new PeriodicTimer(interval);
        try
        {
            while (await timer.WaitForNextTickAsync(stopping))
            {
                try
                {
                    pass();
                }
                catch (Exception ex) when (ex is not OutOfMemoryException)
                {
                    Serilog.Debugging.SelfLog.WriteLine("{0} pass failed: {1}", name, ex);
                }
            }
        }
        catch (OperationCanceledException) when (stopping.IsCancellationRequested)
        {
        }
    }
}
