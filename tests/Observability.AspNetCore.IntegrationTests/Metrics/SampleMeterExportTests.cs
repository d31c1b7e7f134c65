using System.Globalization;
using System.Net.Sockets;
using System.Text;
using System.Text.RegularExpressions;
using Observability.AspNetCore.IntegrationTests.Infrastructure;

namespace Observability.AspNetCore.IntegrationTests.Metrics;

/// <summary>
/// The sample API as a real process on real Kestrel: which bridged meters it exports by default (Kestrel's, where
/// connections Kestrel rejects show up; none of .NET's internal ones) and the prefix on every family it serves.
/// </summary>
public sealed partial class SampleMeterExportTests : IDisposable
{
    private readonly string _dbDirectory = Directory.CreateTempSubdirectory("obs-meters-").FullName;

    public void Dispose() => Directory.Delete(_dbDirectory, recursive: true);

    private Task<AppProcess> StartSampleAsync(string? prefix = null) => AppProcess.StartAsync(AppProcess.SampleApiDllPath(), new Dictionary<string, string?>
    {
        ["ConnectionStrings__Sqlite"] = $"Data Source={Path.Combine(_dbDirectory, "meters.db")}",
        ["Observability__Metrics__Prefix"] = prefix,
    });

    [Fact]
    public async Task Kestrel_connections_are_exported_and_a_request_rejected_for_oversized_headers_shows_its_error_type()
    {
        await using var app = await StartSampleAsync();

        var response = await SendOversizedHeaderAsync(app.BaseAddress);
        Assert.StartsWith("HTTP/1.1 431", response, StringComparison.Ordinal);

        var exposition = await ScrapeUntilAsync(app, text => text.Contains("error_type=\"max_request_headers_total_size_exceeded\"", StringComparison.Ordinal));
        var types = Types(exposition);
        Assert.Equal("histogram", types.GetValueOrDefault("kestrel_connection_duration_seconds"));
        Assert.Equal("gauge", types.GetValueOrDefault("kestrel_active_connections"));
        Assert.Equal("gauge", types.GetValueOrDefault("kestrel_queued_connections"));
        var rejected = exposition.Split('\n').SingleOrDefault(l =>
            l.StartsWith("kestrel_connection_duration_seconds_count{", StringComparison.Ordinal)
            && l.Contains("error_type=\"max_request_headers_total_size_exceeded\"", StringComparison.Ordinal));
        Assert.True(rejected is not null, "No rejected connection in:\n" + string.Join('\n', exposition.Split('\n').Where(l => l.StartsWith("kestrel_", StringComparison.Ordinal) && !l.Contains("_bucket", StringComparison.Ordinal))));
        Assert.Equal(1, double.Parse(rejected[(rejected.LastIndexOf(' ') + 1)..], CultureInfo.InvariantCulture));

        // Left out by default: ASP.NET Core's per-request meters duplicate the request metrics; .NET's internal ones are noise.
        Assert.DoesNotContain(types.Keys, n => n.StartsWith("http_server_", StringComparison.Ordinal) || n.StartsWith("aspnetcore_routing_", StringComparison.Ordinal));
        Assert.DoesNotContain(types.Keys, n => n.StartsWith("msquic_", StringComparison.Ordinal));
    }

    [Fact]
    public async Task Every_family_a_prefixed_sample_serves_carries_the_prefix()
    {
        await using var app = await StartSampleAsync("shop");

        // Every feature that creates series, the bridged meters included (EF Core's, Kestrel's).
        await app.Client.GetAsync(new Uri("/api/items/1", UriKind.Relative));
        await app.Client.GetAsync(new Uri("/api/items/999", UriKind.Relative));
        await app.Client.GetAsync(new Uri("/api/boom", UriKind.Relative));
        await app.Client.GetAsync(new Uri("/api/slow?ms=1100", UriKind.Relative));
        await app.Client.GetAsync(new Uri("/api/db/slow?ms=600", UriKind.Relative));
        await app.Client.GetAsync(new Uri("/health/ready", UriKind.Relative));
        await SendOversizedHeaderAsync(app.BaseAddress);

        var exposition = await ScrapeUntilAsync(app, text => text.Contains("shop_kestrel_connection_duration_seconds", StringComparison.Ordinal));
        var types = Types(exposition);

        var unprefixed = types.Keys.Where(n => !n.StartsWith("shop_", StringComparison.Ordinal)).ToArray();
        Assert.True(unprefixed.Length == 0, "Served without the prefix: " + string.Join(", ", unprefixed));
        foreach (var family in PrometheusToolsTests.ReadReferenceTable().Keys)
        {
            Assert.True(types.ContainsKey("shop_" + family), $"shop_{family} is not served");
        }

        Assert.Contains(types.Keys, n => n.StartsWith("shop_kestrel_", StringComparison.Ordinal));
    }

    /// <summary>A request whose headers exceed Kestrel's 32 KB default, on a raw socket: clients refuse to send it.</summary>
    private static async Task<string> SendOversizedHeaderAsync(Uri baseAddress)
    {
        using var client = new TcpClient();
        await client.ConnectAsync(baseAddress.Host, baseAddress.Port);
        var stream = client.GetStream();
        var request = $"GET /api/items/1 HTTP/1.1\r\nHost: {baseAddress.Authority}\r\nX-Padding: {new string('a', 40_000)}\r\n\r\n";
        await stream.WriteAsync(Encoding.ASCII.GetBytes(request));
        using var reader = new StreamReader(stream, Encoding.ASCII);
        return await reader.ReadToEndAsync();
    }

    /// <summary>Kestrel records a connection's duration when the connection ends, after the client has read the response.</summary>
    private static async Task<string> ScrapeUntilAsync(AppProcess app, Func<string, bool> condition)
    {
        var text = string.Empty;
        for (var i = 0; i < 100; i++)
        {
            text = await app.Client.GetStringAsync(new Uri("/metrics", UriKind.Relative));
            if (condition(text))
            {
                return text;
            }

            await Task.Delay(100);
        }

        return text;
    }

    private static Dictionary<string, string> Types(string exposition)
    {
        var types = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (Match m in TypeLine().Matches(exposition))
        {
            types[m.Groups[1].Value] = m.Groups[2].Value;
        }

        return types;
    }

    [GeneratedRegex(@"^# TYPE (\S+) (\S+)$", RegexOptions.Multiline)]
    private static partial Regex TypeLine();
}
