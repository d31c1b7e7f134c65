using System.Net;
using System.Text.RegularExpressions;

namespace Observability.AspNetCore.IntegrationTests.Foundation;

/// <summary>
/// Containers are configured through environment variables (<c>Observability__Section__Key</c>), which override the
/// appsettings.json shipped in the image. These run the real process with the variables set, as a deployment would.
/// </summary>
public sealed class EnvironmentConfigurationTests
{
    [Fact]
    public async Task Logging_format_Text_from_the_environment_writes_human_readable_lines_instead_of_json()
    {
        await using var sample = await SampleApiProcess.StartAsync(new Dictionary<string, string?>
        {
            ["Observability__Logging__Format"] = "Text",
        });

        using var response = await sample.Client.GetAsync("/api/slow?ms=1");
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        var requestId = response.SingleHeader(ClefEvents.RequestIdHeader);

        // "[12:34:56.789 INF] GET /api/slow responded 200 in 1.23 ms <request id>": the message rendered, no JSON.
        var expected = new Regex(
            $@"^\[\d{{2}}:\d{{2}}:\d{{2}}\.\d{{3}} INF\] GET /api/slow responded 200 in \d+(\.\d+)? ms {Regex.Escape(requestId)}$",
            RegexOptions.CultureInvariant);
        await sample.App.WaitForStdoutLineAsync(expected.IsMatch, TimeSpan.FromSeconds(10));

        Assert.Equal(0, await sample.App.StopWithSigtermAsync());
        Assert.Empty(sample.App.JsonLines());
    }

    [Fact]
    public async Task Request_id_header_from_the_environment_is_the_one_read_echoed_and_logged()
    {
        await using var sample = await SampleApiProcess.StartAsync(new Dictionary<string, string?>
        {
            ["Observability__RequestId__Header"] = "X-Correlation-ID",
        });
        var correlationId = $"corr-{Guid.NewGuid():N}";

        using var request = new HttpRequestMessage(HttpMethod.Get, "/api/slow?ms=1");
        request.Headers.Add("X-Correlation-ID", correlationId);
        // The default header is sent too: with the setting applied it is just another header and must be ignored.
        request.Headers.Add(ClefEvents.RequestIdHeader, "not-the-request-id");
        using var response = await sample.Client.SendAsync(request);

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal(correlationId, response.SingleHeader("X-Correlation-ID"));
        Assert.False(response.Headers.Contains(ClefEvents.RequestIdHeader), $"The default header must not be set as well:\n{response.Headers}");
        var completion = await sample.App.WaitForCompletionEventAsync(correlationId);
        Assert.Equal("/api/slow", completion.StringProperty("Route"));
    }
}
