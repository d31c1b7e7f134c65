using System.Net.Sockets;
using System.Text;

namespace Observability.AspNetCore.IntegrationTests.Health;

/// <summary>HEAD as uptime monitors send it, on real Kestrel: read off the socket, so a body would be seen.</summary>
public sealed class HeadProbeTests
{
    /// <summary>Sends one HTTP/1.1 request with <c>Connection: close</c> and returns everything the server wrote.</summary>
    private static async Task<string> RawAsync(Uri address, string method, string path)
    {
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(30));
        using var client = new TcpClient();
        await client.ConnectAsync(address.Host, address.Port, timeout.Token);
        var stream = client.GetStream();
        await stream.WriteAsync(Encoding.ASCII.GetBytes($"{method} {path} HTTP/1.1\r\nHost: {address.Authority}\r\nConnection: close\r\n\r\n"), timeout.Token);
        using var received = new MemoryStream();
        await stream.CopyToAsync(received, timeout.Token);
        return Encoding.UTF8.GetString(received.ToArray());
    }

    private static string StatusLine(string response) => response[..response.IndexOf("\r\n", StringComparison.Ordinal)];

    private static string? Header(string response, string name) =>
        response[..response.IndexOf("\r\n\r\n", StringComparison.Ordinal)].Split("\r\n")
            .FirstOrDefault(l => l.StartsWith(name + ":", StringComparison.OrdinalIgnoreCase))?[(name.Length + 1)..].Trim();

    [Theory]
    [InlineData("/health")]
    [InlineData("/health/live")]
    [InlineData("/health/ready")]
    [InlineData("/metrics")]
    public async Task HEAD_answers_GETs_status_and_content_type_with_no_body(string path)
    {
        await using var host = await HealthHost.StartAsync(new Dictionary<string, string?>());
        var address = host.Client.BaseAddress!;

        var get = await RawAsync(address, "GET", path);
        var head = await RawAsync(address, "HEAD", path);

        Assert.Equal("HTTP/1.1 200 OK", StatusLine(get));
        Assert.Equal(StatusLine(get), StatusLine(head));
        Assert.Equal(Header(get, "Content-Type"), Header(head, "Content-Type"));
        Assert.NotNull(Header(head, "X-Request-ID"));
        Assert.Equal(head.Length - 4, head.IndexOf("\r\n\r\n", StringComparison.Ordinal)); // nothing after the headers
    }
}
