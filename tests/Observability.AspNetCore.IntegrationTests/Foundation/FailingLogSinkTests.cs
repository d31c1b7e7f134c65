using System.Net;

namespace Observability.AspNetCore.IntegrationTests.Foundation;

/// <summary>
/// A file sink on a full disk (<c>/dev/full</c> fails every write with ENOSPC) fails on every flush, including the one
/// it makes when it is disposed at shutdown: the app must still serve, log to stdout and exit cleanly on SIGTERM.
/// </summary>
public sealed class FailingLogSinkTests
{
    [Fact]
    public async Task A_file_sink_on_a_full_disk_costs_its_own_lines_and_sigterm_still_exits_0()
    {
        await using var sample = await SampleApiProcess.StartAsync(new Dictionary<string, string?>
        {
            ["Serilog__WriteTo__0__Name"] = "File",
            ["Serilog__WriteTo__0__Args__path"] = "/dev/full",
        });

        var ids = new List<string>();
        for (var i = 0; i < 20; i++)
        {
            using var response = await sample.Client.GetAsync("/");
            Assert.Equal(HttpStatusCode.OK, response.StatusCode);
            ids.Add(response.SingleHeader(ClefEvents.RequestIdHeader)!);
        }

        await sample.App.SendSigtermAsync();
        var exitCode = await sample.App.WaitForExitAsync(TimeSpan.FromSeconds(30));

        Assert.True(exitCode == 0, $"exit code {exitCode}.\n{sample.App.OutputDump}");
        var logged = sample.App.JsonLines().Where(e => e.IsCompletionEvent()).Select(e => e.StringProperty("RequestId")).ToHashSet();
        Assert.All(ids, id => Assert.Contains(id, logged));
        Assert.Contains(sample.App.StderrLines, l => l.Contains("a log sink failed while shutting down", StringComparison.Ordinal));
    }
}
