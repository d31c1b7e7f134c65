using System.Net;
using System.Text.Json;
using Microsoft.AspNetCore.Builder;
using Microsoft.Extensions.Hosting;
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
    public void Broken_serilog_section_stops_startup_naming_the_key_and_the_value()
    {
        // Inverted: this section used to leave the app running on the defaults, silently without its sinks.
        var ex = StartupError(new Dictionary<string, string?>
        {
            ["Serilog:WriteTo:0:Name"] = "NoSuchSinkAnywhere",
            ["Serilog:MinimumLevel:Default"] = "NotALevel",
        });

        Assert.Contains("Serilog:MinimumLevel:Default must be one of Verbose, Debug, Information, Warning, Error, Fatal; was 'NotALevel'", ex.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("Serilog:MinimumLevel:Default", "INFO")]
    [InlineData("Serilog:MinimumLevel", "INFO")]
    [InlineData("Serilog:MinimumLevel:Default", "2")]
    [InlineData("Serilog:MinimumLevel:Override:Microsoft", "Loud")]
    [InlineData("Serilog:LevelSwitches:$app", "Info")]
    public void Invalid_serilog_level_stops_startup_naming_the_key_and_the_value(string key, string value)
    {
        var ex = StartupError(new Dictionary<string, string?> { [key] = value });

        Assert.Contains($"{key} must be one of", ex.Message, StringComparison.Ordinal);
        Assert.Contains($"'{value}'", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Unknown_sink_name_stops_startup_naming_the_key_and_the_value()
    {
        var ex = StartupError(new Dictionary<string, string?> { ["Serilog:WriteTo:0:Name"] = "NoSuchSinkAnywhere" });

        Assert.Contains("Serilog:WriteTo:0:Name is 'NoSuchSinkAnywhere'", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Unknown_enricher_stops_startup_naming_the_key_and_the_value()
    {
        var ex = StartupError(new Dictionary<string, string?> { ["Serilog:Enrich:0"] = "WithNoSuchThing" });

        Assert.Contains("Serilog:Enrich:0 is 'WithNoSuchThing'", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Sink_argument_no_overload_takes_stops_startup_naming_the_sink()
    {
        var ex = StartupError(new Dictionary<string, string?> { ["Serilog:WriteTo:0:Name"] = "File", ["Serilog:WriteTo:0:Args:pth"] = "logs/app.log" });

        Assert.Contains("Serilog:WriteTo:0:Name is 'File'", ex.Message, StringComparison.Ordinal);
        Assert.Contains("pth", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Misspelled_optional_sink_argument_stops_startup_naming_it_and_the_arguments_the_sink_takes()
    {
        var ex = StartupError(new Dictionary<string, string?>
        {
            ["Serilog:WriteTo:0:Name"] = "File",
            ["Serilog:WriteTo:0:Args:path"] = Path.Combine(Path.GetTempPath(), "obs-never-written.log"),
            ["Serilog:WriteTo:0:Args:rollingInteval"] = "Day",
        });

        Assert.Contains("Serilog:WriteTo:0:Args:rollingInteval is not an argument of File", ex.Message, StringComparison.Ordinal);
        Assert.Contains("File takes path, ", ex.Message, StringComparison.Ordinal);
        Assert.Contains(", rollingInterval,", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Arguments_in_any_case_and_sub_logger_arguments_start()
    {
        var dir = Directory.CreateTempSubdirectory("obs-args-");
        try
        {
            var app = await TestApp.StartAsync(a => a.MapGet("/", () => "ok"), new Dictionary<string, string?>
            {
                ["Serilog:Using:0"] = "Serilog.Sinks.File",
                ["Serilog:WriteTo:0:Name"] = "File",
                ["Serilog:WriteTo:0:Args:Path"] = Path.Combine(dir.FullName, "app.log"),
                ["Serilog:WriteTo:0:Args:RollingInterval"] = "Day",
                ["Serilog:WriteTo:1:Name"] = "Logger",
                ["Serilog:WriteTo:1:Args:configureLogger:WriteTo:0:Name"] = "File",
                ["Serilog:WriteTo:1:Args:configureLogger:WriteTo:0:Args:path"] = Path.Combine(dir.FullName, "sub.log"),
                ["Serilog:WriteTo:1:Args:restrictedToMinimumLevel"] = "Warning",
            });
            var response = await app.Client.GetAsync("/");
            await app.DisposeAsync();

            Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        }
        finally
        {
            dir.Delete(recursive: true);
        }
    }

    [Fact]
    public async Task Serilogs_own_surrogate_methods_take_their_documented_arguments()
    {
        // Serilog.Settings.Configuration offers WriteTo "Sink" (sink) and Filter "With" (filter) through internal
        // surrogates whose argument names differ from the instance methods they wrap (logEventSink, filters).
        await using var app = await TestApp.StartAsync(a => a.MapGet("/", () => "ok"), new Dictionary<string, string?>
        {
            ["Serilog:WriteTo:0:Name"] = "Sink",
            ["Serilog:WriteTo:0:Args:sink"] = typeof(CountingSink).AssemblyQualifiedName,
            ["Serilog:Filter:0:Name"] = "With",
            ["Serilog:Filter:0:Args:filter"] = typeof(PassAllFilter).AssemblyQualifiedName,
        });

        var response = await app.Client.GetAsync("/");

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.True(CountingSink.Count > 0);
    }

    public sealed class CountingSink : Serilog.Core.ILogEventSink
    {
        private static int _count;

        public static int Count => Volatile.Read(ref _count);

        public void Emit(Serilog.Events.LogEvent logEvent) => Interlocked.Increment(ref _count);
    }

    public sealed class PassAllFilter : Serilog.Core.ILogEventFilter
    {
        public bool IsEnabled(Serilog.Events.LogEvent logEvent) => true;
    }

    [Theory]
    [InlineData("Serilog:Using:0", "Serilog.Sinks.NoSuchAssembly")]
    [InlineData("Serilog:WriteTo:0:Args:fileSizeLimitBytes", "ten")]
    [InlineData("Serilog:WriteTo:0:Args:restrictedToMinimumLevel", "Warn")]
    [InlineData("Serilog:WriteTo:0:Args:formatter", "No.Such.Formatter, NoSuchAssembly")]
    public void Bad_sink_setting_stops_startup_naming_the_key_and_the_value(string key, string value)
    {
        var configuration = new Dictionary<string, string?> { [key] = value };
        if (key.StartsWith("Serilog:WriteTo:0:", StringComparison.Ordinal))
        {
            configuration["Serilog:WriteTo:0:Name"] = "File";
            configuration["Serilog:WriteTo:0:Args:path"] = Path.Combine(Path.GetTempPath(), "obs-never-written.log");
        }

        var ex = StartupError(configuration);

        Assert.Contains(key, ex.Message, StringComparison.Ordinal);
        Assert.Contains($"'{value}'", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Valid_levels_in_any_case_and_switch_references_start()
    {
        await using var app = await TestApp.StartAsync(a => a.MapGet("/", () => "ok"), new Dictionary<string, string?>
        {
            ["Serilog:LevelSwitches:$app"] = "warning",
            ["Serilog:MinimumLevel:ControlledBy"] = "$app",
            ["Serilog:MinimumLevel:Override:Microsoft"] = "error",
        });

        var response = await app.Client.GetAsync("/");

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
    }

    private static Exception StartupError(IDictionary<string, string?> configuration)
    {
        var builder = TestApp.CreateBuilder(configuration);
        builder.AddObservability();
        var ex = Record.Exception(() =>
        {
            using var app = builder.Build();
            app.UseObservability();
            app.MapGet("/", () => "ok");
            app.StartAsync().GetAwaiter().GetResult();
            app.StopAsync().GetAwaiter().GetResult();
        });
        Assert.NotNull(ex);
        return ex;
    }
}
