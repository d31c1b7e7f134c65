using System.Text.RegularExpressions;
using NetArchTest.Rules;

namespace Observability.AspNetCore.Tests;

/// <summary>
/// The layers of ARCHITECTURE.md held against the compiled library: arrows point down only (Hosting, Pipeline, the
/// features, Core), no feature uses another feature, and the public surface (the root namespace) uses no feature.
/// </summary>
public sealed class LayerDependencyTests
{
    private const string Root = "Observability.AspNetCore";

    private static readonly string[] Features =
        ["RequestId", "Logging", "Metrics", "Health", "SlowRequests", "SlowQueries", "Jobs", "Tracing"];

    /// <summary>
    /// Which layer may use which, one row per layer (a layer may always use itself and its sub-namespaces). The root
    /// namespace is the public surface. The public extension methods in <c>Microsoft.*</c> namespaces (AddObservability,
    /// UseObservability, WithXxx) sit at the top beside Hosting and may use anything; NetArchTest skips such namespaces.
    /// </summary>
    private static readonly (string Layer, string[] MayUse)[] Allowed =
    [
        ("Hosting",      ["Pipeline", .. Features, "Core", "(root)"]),
        ("Pipeline",     [.. Features, "Core", "(root)"]),
        ("RequestId",    ["Core", "(root)"]),
        ("Logging",      ["Core", "(root)"]),
        ("Metrics",      ["Core", "(root)"]),
        ("Health",       ["Core", "(root)"]),
        ("SlowRequests", ["Core", "(root)"]),
        ("SlowQueries",  ["Core", "(root)"]),
        ("Jobs",         ["Core", "(root)"]),
        ("Tracing",      ["Core", "(root)"]),
        ("Core",         ["(root)"]),
        ("(root)",       ["Core"]),
    ];

    private static readonly string[] Layers = ["Hosting", "Pipeline", .. Features, "Core"];

    public static TheoryData<string> LayerNames() => [.. Allowed.Select(a => a.Layer)];

    [Fact]
    public void Every_namespace_of_the_library_is_a_layer_of_the_table()
    {
        var unknown = typeof(ObservabilityOptions).Assembly.GetTypes()
            .Select(t => t.Namespace)
            .Where(ns => ns is not null && !ns.StartsWith("Microsoft.", StringComparison.Ordinal) && !ns.StartsWith("System.", StringComparison.Ordinal))
            .Distinct()
            .Where(ns => ns != Root && !Layers.Any(l => ns == $"{Root}.{l}" || ns!.StartsWith($"{Root}.{l}.", StringComparison.Ordinal)))
            .ToList();

        Assert.Empty(unknown);
    }

    [Theory]
    [MemberData(nameof(LayerNames))]
    public void A_layer_uses_only_the_layers_below_it(string layer)
    {
        var mayUse = Allowed.Single(a => a.Layer == layer).MayUse;
        var forbidden = Layers.Where(l => l != layer && !mayUse.Contains(l)).Select(l => $"{Root}.{l}").ToArray();
        if (forbidden.Length == 0)
        {
            return;
        }

        var result = Types.InAssembly(typeof(ObservabilityOptions).Assembly)
            .That().ResideInNamespaceMatching(NamespacePattern(layer))
            .ShouldNot().HaveDependencyOnAny(forbidden)
            .GetResult();

        Assert.True(result.IsSuccessful,
            $"{layer} may use only {string.Join(", ", mayUse)}; these of its types use one of {string.Join(", ", forbidden)}:\n"
            + string.Join('\n', result.FailingTypeNames ?? []));
    }

    [Fact]
    public void The_table_covers_a_type_of_every_layer()
    {
        // A pattern that matched nothing would make its row pass without checking anything.
        var types = Types.InAssembly(typeof(ObservabilityOptions).Assembly);
        foreach (var (layer, _) in Allowed)
        {
            Assert.True(types.That().ResideInNamespaceMatching(NamespacePattern(layer)).GetTypes().Any(), $"No type in layer {layer}.");
        }
    }

    [Fact]
    public void No_source_file_names_a_layer_it_may_not_use()
    {
        // The compiled check misses constants, which the compiler copies into their users; the source names them.
        var src = Path.Combine(RepositoryRoot(), "src", "Observability.AspNetCore");
        var reference = new Regex($@"(?:\busing\s+{Regex.Escape(Root)}\.|{Regex.Escape(Root)}\.|(?<![\w.]))({string.Join('|', Layers)})(?:;|\.[A-Z]\w*)", RegexOptions.CultureInvariant);
        var violations = new List<string>();
        foreach (var file in Directory.EnumerateFiles(src, "*.cs", SearchOption.AllDirectories))
        {
            if (file.Contains($"{Path.DirectorySeparatorChar}obj{Path.DirectorySeparatorChar}", StringComparison.Ordinal)
                || file.Contains($"{Path.DirectorySeparatorChar}bin{Path.DirectorySeparatorChar}", StringComparison.Ordinal))
            {
                continue;
            }

            var text = File.ReadAllText(file);
            var ns = Regex.Match(text, @"^namespace ([\w.]+);", RegexOptions.Multiline).Groups[1].Value;
            var layer = ns == Root ? "(root)" : Layers.FirstOrDefault(l => ns == $"{Root}.{l}" || ns.StartsWith($"{Root}.{l}.", StringComparison.Ordinal));
            if (layer is null)
            {
                continue; // Microsoft.* entry points: at the top, may use anything
            }

            var mayUse = Allowed.Single(a => a.Layer == layer).MayUse;
            var code = string.Join('\n', text.Split('\n').Where(line => !line.TrimStart().StartsWith("//", StringComparison.Ordinal)));
            foreach (Match m in reference.Matches(code))
            {
                var used = m.Groups[1].Value;
                if (used != layer && !mayUse.Contains(used))
                {
                    violations.Add($"{Path.GetRelativePath(src, file)} ({layer}) names {used}: {m.Value}");
                }
            }
        }

        Assert.Empty(violations);
    }

    private static string RepositoryRoot()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            if (File.Exists(Path.Combine(dir.FullName, "Observability.sln")))
            {
                return dir.FullName;
            }
        }

        throw new InvalidOperationException("Observability.sln not found above " + AppContext.BaseDirectory);
    }

    private static string NamespacePattern(string layer) => layer switch
    {
        "(root)" => $"^{Regex.Escape(Root)}$",
        _ => $"^{Regex.Escape($"{Root}.{layer}")}(\\..+)?$",
    };
}
