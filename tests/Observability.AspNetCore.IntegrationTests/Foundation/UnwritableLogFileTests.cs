using System.Net;

namespace Observability.AspNetCore.IntegrationTests.Foundation;

/// <summary>
/// An extra file sink from the standard <c>Serilog</c> section whose path cannot be written (a missing volume, a
/// read-only filesystem) must cost the file, not the service nor the stdout log, and must not flood stderr.
/// </summary>
public sealed class UnwritableLogFileTests
{
    private const string UnwritablePath = "/proc/self/no-such-dir/app.log";
    private const int Requests = 20;

    [Fact]
    public async Task Unwritable_log_file_keeps_the_app_and_stdout_logging_up_and_is_reported_on_stderr_once()
    {
        await using var sample = await SampleApiProcess.StartAsync(new Dictionary<string, string?>
        {
            ["Serilog__WriteTo__0__Name"] = "File",
            // /proc/self cannot hold directories, even for root: the sink can never be created.
            ["Serilog__WriteTo__0__Args__path"] = UnwritablePath,
        });

        var requestIds = new List<string>();
        for (var i = 0; i < Requests; i++)
        {
            using var response = await sample.Client.GetAsync("/");
            Assert.Equal(HttpStatusCode.OK, response.StatusCode);
            requestIds.Add(response.SingleHeader(ClefEvents.RequestIdHeader));
        }

        // After exit both streams are complete: a per-event complaint could otherwise still be on its way.
        Assert.Equal(0, await sample.App.StopWithSigtermAsync());

        foreach (var requestId in requestIds)
        {
            Assert.Single(sample.App.CompletionEventsOf(requestId));
        }

        var stderr = sample.App.StderrLines;
        var mentions = stderr.Where(line => line.Contains(UnwritablePath, StringComparison.Ordinal)).ToList();
        Assert.True(mentions.Count == 1, $"stderr must name the failing file exactly once; it did {mentions.Count} times:\n{string.Join('\n', stderr)}");

        // Whatever else is reported about the broken sink is said once, not once per event written to it.
        var libraryLines = stderr.Where(line => line.StartsWith("Observability:", StringComparison.Ordinal)).ToList();
        Assert.True(
            libraryLines.Count == libraryLines.Distinct(StringComparer.Ordinal).Count() && libraryLines.Count < Requests,
            $"stderr repeats itself:\n{string.Join('\n', stderr)}");
    }
}
