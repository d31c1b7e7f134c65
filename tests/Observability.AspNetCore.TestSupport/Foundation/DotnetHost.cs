using Observability.AspNetCore.IntegrationTests.Infrastructure;

namespace Observability.AspNetCore.IntegrationTests.Foundation;

/// <summary>The <c>dotnet</c> executable, for tests that run an app or the CLI through <see cref="ProcessRunner"/>.</summary>
internal static class DotnetHost
{
    /// <summary>
    /// The host running this test process (so children use the same runtime and SDK as the tests), else
    /// DOTNET_HOST_PATH, DOTNET_ROOT, PATH. <see cref="AppProcess"/> starts apps with it too.
    /// </summary>
    public static string Path
    {
        get
        {
            var current = Environment.ProcessPath;
            if (current is not null && System.IO.Path.GetFileNameWithoutExtension(current).Equals("dotnet", StringComparison.OrdinalIgnoreCase))
            {
                return current;
            }

            var hostPath = Environment.GetEnvironmentVariable("DOTNET_HOST_PATH");
            if (!string.IsNullOrEmpty(hostPath) && File.Exists(hostPath))
            {
                return hostPath;
            }

            var root = Environment.GetEnvironmentVariable("DOTNET_ROOT");
            if (!string.IsNullOrEmpty(root) && File.Exists(System.IO.Path.Combine(root, "dotnet")))
            {
                return System.IO.Path.Combine(root, "dotnet");
            }

            return ProcessRunner.FindOnPath("dotnet") ?? "dotnet";
        }
    }
}
