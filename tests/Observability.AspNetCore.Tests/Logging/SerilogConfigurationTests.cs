using System.Net;
using System.Text.Json;
using Microsoft.AspNetCore.Builder;
using Observability.AspNetCore.Tests.Support;

namespace Observability.AspNetCore.Tests.Logging;

public sealed class SerilogConfigurationTests
{
    [Fact]
    public async Task Rolling_json_file_with_size_limit_and_retention_is_configuration_only()
    {
        var dir = Directory.CreateTempSubdirectory("obs-logs-");
        try
        {
            var app = await TestApp.StartAsync(a => a.MapGet("/", () => "ok"), new Dictionary<string, string?>
            {
                ["Serilog:WriteTo:0:Name"] = "File",
                ["Serilog:WriteTo:0:Args:path"] = Path.Combine(dir.FullName, "app-.log"),
                ["Serilog:WriteTo:0:Args:rollingInterval"] = "Day",
                ["Serilog:WriteTo:0:Args:fileSizeLimitBytes"] = "10485760",
                ["Serilog:WriteTo:0:Args:rollOnFileSizeLimit"] = "true",
                ["Serilog:WriteTo:0:Args:retainedFileCountLimit"] = "5",
                ["Serilog:WriteTo:0:Args:formatter"] = "Serilog.Formatting.Compact.CompactJsonFormatter, Serilog.Formatting.Compact",
            });
            var response = await app.Client.GetAsync("/");
            var id = response.Headers.GetValues("X-Request-ID").Single();
            await app.CompletionEventAsync(id);
            await app.DisposeAsync();

            var file = Assert.Single(dir.GetFiles("app-*.log"));
            var lines = await File.ReadAllLinesAsync(file.FullName);
            Assert.Contains(lines, l => JsonDocument.Parse(l).RootElement.Str("RequestId") == id);
        }
        finally
        {
            dir.Delete(recursive: true);
        }
    }

    [Fact]
    public async Task Errors_only_file_is_configuration_only()
    {
        var dir = Directory.CreateTempSubdirectory("obs-errors-");
        try
        {
            var app = await TestApp.StartAsync(
                a =>
                {
                    a.MapGet("/ok", () => "ok");
                    a.MapGet("/boom", string () => throw new InvalidOperationException("kaboom"));
                },
                new Dictionary<string, string?>
                {
                    ["Serilog:WriteTo:0:Name"] = "File",
                    ["Serilog:WriteTo:0:Args:path"] = Path.Combine(dir.FullName, "errors.log"),
                    ["Serilog:WriteTo:0:Args:restrictedToMinimumLevel"] = "Error",
                    ["Serilog:WriteTo:0:Args:formatter"] = "Serilog.Formatting.Compact.CompactJsonFormatter, Serilog.Formatting.Compact",
                });
            var ok = await app.Client.GetAsync("/ok");
            var boom = await app.Client.GetAsync("/boom");
            await app.CompletionEventAsync(boom.Headers.GetValues("X-Request-ID").Single());
            await app.CompletionEventAsync(ok.Headers.GetValues("X-Request-ID").Single());
            await app.DisposeAsync();

            var line = Assert.Single(await File.ReadAllLinesAsync(Path.Combine(dir.FullName, "errors.log")));
            Assert.Equal("Error", JsonDocument.Parse(line).RootElement.Str("@l"));
        }
        finally
        {
            dir.Delete(recursive: true);
        }
    }

    [Fact]
    public async Task Unwritable_log_file_does_not_stop_the_app_from_serving()
    {
        await using var app = await TestApp.StartAsync(a => a.MapGet("/", () => "ok"), new Dictionary<string, string?>
        {
            ["Serilog:WriteTo:0:Name"] = "File",
            ["Serilog:WriteTo:0:Args:path"] = "/proc/self/no-such-dir/app.log",
        });

        var response = await app.Client.GetAsync("/");
        var id = response.Headers.GetValues("X-Request-ID").Single();

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        await app.CompletionEventAsync(id);
    }

    [Fact]
    public async Task Broken_serilog_section_falls_back_to_stdout_and_keeps_serving()
    {
        await using var app = await TestApp.StartAsync(a => a.MapGet("/", () => "ok"), new Dictionary<string, string?>
        {
            ["Serilog:WriteTo:0:Name"] = "NoSuchSinkAnywhere",
            ["Serilog:MinimumLevel:Default"] = "NotALevel",
        });

        var response = await app.Client.GetAsync("/");

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        await app.CompletionEventAsync(response.Headers.GetValues("X-Request-ID").Single());
    }
}
