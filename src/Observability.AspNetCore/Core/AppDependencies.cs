using System.Text.Json;

namespace Observability.AspNetCore.Core;

/// <summary>
/// What the app itself depends on, read by name from its dependency graph (its <c>.deps.json</c>, which the host names
/// in <c>APP_CONTEXT_DEPS_FILES</c>), so that features hook into EF Core only in apps that use it. A type test would
/// load EF Core into every app, since this library references it. Read with <see cref="JsonDocument"/>, which the
/// shared framework carries precompiled, not <c>DependencyContext</c>, whose package would be JIT-compiled at every
/// start.
/// </summary>
internal static class AppDependencies
{
    private static readonly Lazy<bool> EfCore = new(static () => FileShowsEfCore(
        AppGraphPath(AppContext.GetData("APP_CONTEXT_DEPS_FILES") as string, System.Reflection.Assembly.GetEntryAssembly()?.GetName().Name)));

    /// <summary>
    /// Whether something in the app besides this library depends on EF Core. Without a dependency graph (single-file,
    /// custom hosts), or with one that cannot be read, true: the hooks are added, as they were before the graph was read.
    /// </summary>
    public static bool UsesEfCore => EfCore.Value;

    internal static bool FileShowsEfCore(string? path)
    {
        if (string.IsNullOrWhiteSpace(path))
        {
            return true;
        }

        try
        {
            return GraphShowsEfCore(File.ReadAllBytes(path));
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException or JsonException)
        {
            return true;
        }
    }

    /// <summary>Whether a library of the graph other than this one and EF Core's own lists a dependency on EF Core.</summary>
    internal static bool GraphShowsEfCore(ReadOnlyMemory<byte> depsJson)
    {
        // JsonDocument rejects a byte-order mark; a graph edited and saved by hand may carry one.
        var json = depsJson.Span.StartsWith("\uFEFF"u8) ? depsJson[3..] : depsJson;
        using var document = JsonDocument.Parse(json);
        if (document.RootElement.ValueKind != JsonValueKind.Object || !document.RootElement.TryGetProperty("targets", out var targets))
        {
            return true;
        }

        var self = typeof(AppDependencies).Assembly.GetName().Name;
        foreach (var target in targets.EnumerateObject())
        {
            if (target.Value.ValueKind != JsonValueKind.Object)
            {
                continue;
            }

            foreach (var library in target.Value.EnumerateObject())
            {
                // "Name/Version"
                var slash = library.Name.IndexOf('/', StringComparison.Ordinal);
                var name = slash < 0 ? library.Name : library.Name[..slash];
                if (string.Equals(name, self, StringComparison.OrdinalIgnoreCase) || IsEfCore(name)
                    || library.Value.ValueKind != JsonValueKind.Object
                    || !library.Value.TryGetProperty("dependencies", out var dependencies)
                    || dependencies.ValueKind != JsonValueKind.Object)
                {
                    continue;
                }

                foreach (var dependency in dependencies.EnumerateObject())
                {
                    if (IsEfCore(dependency.Name))
                    {
                        return true;
                    }
                }
            }
        }

        return false;
    }

    /// <summary>
    /// The app's own graph: the first of the host's list (the shared frameworks' follow, separated by ';'), when it is
    /// named after the entry assembly. A single-file app's graph is inside its bundle and left out of the list, whose
    /// first entry is then a framework's: null, so the hooks are added.
    /// </summary>
    internal static string? AppGraphPath(string? depsFiles, string? entryAssemblyName)
    {
        if (string.IsNullOrEmpty(depsFiles) || string.IsNullOrEmpty(entryAssemblyName))
        {
            return null;
        }

        var end = depsFiles.IndexOf(';', StringComparison.Ordinal);
        var first = end < 0 ? depsFiles : depsFiles[..end];
        return string.Equals(Path.GetFileName(first), entryAssemblyName + ".deps.json", StringComparison.OrdinalIgnoreCase) ? first : null;
    }

    private static bool IsEfCore(string name) => name.StartsWith("Microsoft.EntityFrameworkCore", StringComparison.OrdinalIgnoreCase);
}
