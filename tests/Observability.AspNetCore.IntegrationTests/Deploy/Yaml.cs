using System.Text.Json.Nodes;
using YamlDotNet.Core;
using YamlDotNet.RepresentationModel;

namespace Observability.AspNetCore.IntegrationTests.Deploy;

/// <summary>
/// Reads the files under <c>deploy/</c> with YamlDotNet into <see cref="JsonNode"/>s, every scalar a string and an
/// empty or <c>~</c>/<c>null</c> plain scalar null, so the tests index them the same way as the dashboards' JSON.
/// </summary>
/// <remarks>
/// More than one document, or a duplicate key (which YamlDotNet reports), throws <see cref="FormatException"/>: the
/// tools that read these files would take one document and one value, so the tests must not look at another.
/// </remarks>
internal static class Yaml
{
    /// <summary>Parses <paramref name="text"/>; <paramref name="source"/> names it in error messages.</summary>
    public static JsonNode? Parse(string text, string source = "<yaml>")
    {
        var stream = new YamlStream();
        try
        {
            stream.Load(new StringReader(text));
        }
        catch (YamlException e)
        {
            throw new FormatException($"{source}: {e.Message}", e);
        }

        return stream.Documents.Count switch
        {
            0 => null,
            1 => ToJson(stream.Documents[0].RootNode),
            var n => throw new FormatException($"{source}: {n} YAML documents, expected one"),
        };
    }

    /// <summary>Reads and parses a file.</summary>
    public static JsonNode? ParseFile(string path) => Parse(File.ReadAllText(path), path);

    private static JsonNode? ToJson(YamlNode node)
    {
        switch (node)
        {
            case YamlScalarNode scalar:
                return scalar.Style == YamlDotNet.Core.ScalarStyle.Plain && scalar.Value is null or "" or "~" or "null"
                    ? null
                    : JsonValue.Create(scalar.Value ?? "");
            case YamlSequenceNode sequence:
                var array = new JsonArray();
                foreach (var item in sequence.Children)
                {
                    array.Add(ToJson(item));
                }

                return array;
            case YamlMappingNode mapping:
                var map = new JsonObject();
                foreach (var (key, value) in mapping.Children)
                {
                    map.Add(((YamlScalarNode)key).Value!, ToJson(value));
                }

                return map;
            default:
                throw new FormatException($"unsupported YAML node {node.NodeType} at {node.Start}");
        }
    }
}
