using System.Globalization;
using System.Net;
using System.Security.Cryptography;
using System.Text.Json;
using Observability.AspNetCore.IntegrationTests.Foundation;
using Observability.AspNetCore.IntegrationTests.Infrastructure;

namespace Observability.AspNetCore.IntegrationTests.Packaging;

/// <summary>
/// What a user installs is the .nupkg, not the project reference every other test uses: its dependency list, its lib
/// folder and its extension-method namespaces are only exercised by packing it and building a fresh app against it.
/// </summary>
public sealed class ConsumerPackageTests
{
    private const string PackageId = "Observability.AspNetCore";
    private static readonly TimeSpan CliTimeout = TimeSpan.FromMinutes(3);

    [Fact]
    public async Task Packed_package_works_in_a_fresh_app_with_the_two_lines()
    {
        // Unique per run, so neither a package cached by an earlier run nor one on nuget.org can be what gets restored.
        var version = string.Create(
            CultureInfo.InvariantCulture,
            $"0.0.0-ci.{DateTime.UtcNow:yyyyMMddHHmmss}.{RandomNumberGenerator.GetInt32(100_000, 1_000_000)}");
        using var work = TempDirectory.Create("obs-pkg");
        var feed = work.Combine("feed");
        var appDirectory = work.Combine("app");
        var packages = work.Combine("packages");

        // Build output under the temp dir too (--artifacts-path): packing with another version must not rewrite the
        // library's bin/obj in the repository, which other builds and test runs use at the same time.
        var project = Path.Combine(FindRepositoryRoot(), "src", PackageId, $"{PackageId}.csproj");
        await RunDotnetAsync(
            ["pack", project, "-c", "Release", "-o", feed, $"-p:Version={version}", "--artifacts-path", work.Combine("artifacts"),
                "--disable-build-servers", "-nodeReuse:false", "-nologo"],
            workingDirectory: work.Path);

        WriteConsumerApp(work, appDirectory, feed, version);
        // An empty global-packages folder, so the package can only come from the feed; every other dependency falls
        // back to the machine's cache, which keeps the test off the network for all but the feed lookups.
        List<string> build = ["build", "-c", "Release", "--disable-build-servers", "-nodeReuse:false", "-nologo"];
        if (Directory.Exists(MachinePackagesFolder()))
        {
            build.Add($"-p:RestoreAdditionalProjectFallbackFolders={MachinePackagesFolder()}");
        }

        await RunDotnetAsync(
            build,
            workingDirectory: appDirectory,
            extraEnvironment: new Dictionary<string, string?> { ["NUGET_PACKAGES"] = packages });

        var restored = Path.Combine(packages, PackageId.ToLowerInvariant(), version.ToLowerInvariant());
        Assert.True(Directory.Exists(restored), $"The package was not restored into the isolated folder {restored}.");
        using (var metadata = JsonDocument.Parse(await File.ReadAllTextAsync(Path.Combine(restored, ".nupkg.metadata"))))
        {
            Assert.Equal(Path.GetFullPath(feed).TrimEnd('/'), metadata.RootElement.GetProperty("source").GetString()?.TrimEnd('/'));
        }

        var dll = Path.Combine(appDirectory, "bin", "Release", "net10.0", "ConsumerApp.dll");
        await using (var app = await AppProcess.StartAsync(dll, new Dictionary<string, string?> { ["ASPNETCORE_ENVIRONMENT"] = "Production" }, readinessPath: "/hello"))
        {
            using var hello = await app.Client.GetAsync("/hello");
            Assert.Equal(HttpStatusCode.OK, hello.StatusCode);
            Assert.Equal("hi", await hello.Content.ReadAsStringAsync());
            var requestId = hello.SingleHeader(ClefEvents.RequestIdHeader);
            var completion = await app.WaitForCompletionEventAsync(requestId);
            Assert.Equal("/hello", completion.StringProperty("Route"));

            using var metrics = await app.Client.GetAsync("/metrics");
            Assert.Equal(HttpStatusCode.OK, metrics.StatusCode);
            Assert.Contains("http_requests_total", await metrics.Content.ReadAsStringAsync(), StringComparison.Ordinal);
        }
    }

    /// <summary>A consumer's project as <c>dotnet new web</c> would leave it, plus the package and the two lines.</summary>
    private static void WriteConsumerApp(TempDirectory work, string appDirectory, string feed, string version)
    {
        Directory.CreateDirectory(appDirectory);

        // MSBuild looks for Directory.Build.props/.targets upwards; empty ones here stop the search, so nothing of the
        // repository (or of whatever lies above the temp dir) takes part in the consumer's build.
        File.WriteAllText(work.Combine("Directory.Build.props"), "<Project />\n");
        File.WriteAllText(work.Combine("Directory.Build.targets"), "<Project />\n");

        File.WriteAllText(Path.Combine(appDirectory, "ConsumerApp.csproj"), $"""
            <Project Sdk="Microsoft.NET.Sdk.Web">
              <PropertyGroup>
                <TargetFramework>net10.0</TargetFramework>
                <Nullable>enable</Nullable>
                <ImplicitUsings>enable</ImplicitUsings>
              </PropertyGroup>
              <ItemGroup>
                <PackageReference Include="{PackageId}" Version="{version}" />
              </ItemGroup>
            </Project>
            """);

        File.WriteAllText(Path.Combine(appDirectory, "Program.cs"), """
            var builder = WebApplication.CreateBuilder(args);
            builder.AddObservability();
            var app = builder.Build();
            app.UseObservability();
            app.MapGet("/hello", () => "hi");
            app.Run();
            """);

        File.WriteAllText(Path.Combine(appDirectory, "nuget.config"), $"""
            <?xml version="1.0" encoding="utf-8"?>
            <configuration>
              <packageSources>
                <clear />
                <add key="local-feed" value="{feed}" />
                <add key="nuget.org" value="https://api.nuget.org/v3/index.json" />
              </packageSources>
            </configuration>
            """);
    }

    private static async Task RunDotnetAsync(
        IReadOnlyList<string> arguments,
        string workingDirectory,
        IReadOnlyDictionary<string, string?>? extraEnvironment = null)
    {
        var environment = new Dictionary<string, string?>(StringComparer.Ordinal)
        {
            ["DOTNET_NOLOGO"] = "1",
            ["DOTNET_CLI_TELEMETRY_OPTOUT"] = "1",
            ["DOTNET_SKIP_FIRST_TIME_EXPERIENCE"] = "1",
            // Build servers and reused MSBuild nodes would outlive the command and keep its output pipes open.
            ["MSBUILDDISABLENODEREUSE"] = "1",
            ["DOTNET_CLI_USE_MSBUILD_SERVER"] = "0",
            // Set by the test host's own dotnet; inherited, they would point the child's MSBuild at the wrong SDK parts.
            ["MSBuildExtensionsPath"] = null,
            ["MSBuildSDKsPath"] = null,
            ["MSBUILD_EXE_PATH"] = null,
        };
        foreach (var (key, value) in extraEnvironment ?? new Dictionary<string, string?>())
        {
            environment[key] = value;
        }

        var result = await ProcessRunner.RunAsync(DotnetHost.Path, arguments, CliTimeout, workingDirectory: workingDirectory, environment: environment);
        Assert.True(result.Succeeded, $"dotnet {string.Join(' ', arguments)} failed with {result}");
    }

    private static string MachinePackagesFolder()
    {
        var configured = Environment.GetEnvironmentVariable("NUGET_PACKAGES");
        return string.IsNullOrEmpty(configured)
            ? Path.Combine(Environment.GetFolderPath(Environment.SpecialFolder.UserProfile), ".nuget", "packages")
            : configured;
    }

    private static string FindRepositoryRoot()
    {
        for (var directory = new DirectoryInfo(AppContext.BaseDirectory); directory is not null; directory = directory.Parent)
        {
            if (File.Exists(Path.Combine(directory.FullName, "Observability.sln")))
            {
                return directory.FullName;
            }
        }

        throw new InvalidOperationException($"No Observability.sln above {AppContext.BaseDirectory}; the test must run from the repository's build output.");
    }
}
