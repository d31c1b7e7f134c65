using System.Reflection;
using System.Runtime.CompilerServices;
using Microsoft.Extensions.Configuration;
using Observability.AspNetCore.Core;
using Serilog;
using Serilog.Configuration;
using Serilog.Events;

namespace Observability.AspNetCore.Logging;

/// <summary>
/// Applies the <c>Serilog</c> section and says which key and value could not be applied: an invalid level, a sink or
/// enricher name no loaded assembly provides (Serilog only mentions it on SelfLog and drops it), an assembly that
/// does not load, an argument that does not convert. Run once at startup; a sink that fails later never stops the app.
/// </summary>
internal static class SerilogSectionCheck
{
    private const string MethodNotFound = "Unable to find a method called ";
    private static readonly string LevelNames = string.Join(", ", Enum.GetNames<LogEventLevel>());

    public static LoggerConfiguration Apply(LoggerConfiguration logger, IConfiguration configuration, IConfigurationSection section)
    {
        var errors = new List<string>();
        CheckLevels(section, errors);
        if (errors.Count > 0)
        {
            throw Failure(errors);
        }

        // Without a section there is nothing to apply, and reading it would load every assembly named like a Serilog
        // package in the app (the sinks this library ships included) to look for sinks nobody named.
        if (!section.Exists())
        {
            return logger;
        }

        var capture = new SelfLogCapture();
        StderrSelfLog.Captured.Value = capture;
        try
        {
            Read(logger, configuration);
        }
        catch (Exception ex) when (ex is not OutOfMemoryException)
        {
            errors.Add(Explain(section, ex));
        }
        finally
        {
            StderrSelfLog.Captured.Value = null;
        }

        foreach (var message in capture.Close())
        {
            if (MissingMethod(section, message) is { } error)
            {
                errors.Add(error);
            }
        }

        CheckArgumentNames(section, errors);
        return errors.Count > 0 ? throw Failure(errors) : logger;
    }

    /// <summary>
    /// Serilog calls the overload that matches the most arguments and silently drops the others, so a misspelled
    /// optional argument (<c>rollingInteval</c>) would be ignored. Checked after <see cref="Read"/>, which has loaded
    /// the assemblies Serilog searches.
    /// </summary>
    private static void CheckArgumentNames(IConfigurationSection section, List<string> errors)
    {
        (string Directive, Type Receiver)[] directives =
        [
            ("WriteTo", typeof(LoggerSinkConfiguration)),
            ("AuditTo", typeof(LoggerAuditSinkConfiguration)),
            ("Enrich", typeof(LoggerEnrichmentConfiguration)),
            ("Filter", typeof(LoggerFilterConfiguration)),
        ];
        List<MethodInfo>? methods = null;
        foreach (var (directive, receiver) in directives)
        {
            foreach (var entry in section.GetSection(directive).GetChildren())
            {
                var args = entry.GetSection("Args");
                if (entry["Name"] is not { } name || !args.GetChildren().Any())
                {
                    continue;
                }

                methods ??= ConfigurationMethods(section);
                var parameters = Parameters(methods, receiver, name);
                // No candidate at all is a missing sink, which Serilog has reported already.
                if (parameters is null)
                {
                    continue;
                }

                foreach (var arg in args.GetChildren())
                {
                    if (!parameters.Contains(arg.Key, StringComparer.OrdinalIgnoreCase))
                    {
                        errors.Add($"{arg.Path} is not an argument of {name}: no overload of it takes '{arg.Key}'. {name} takes {string.Join(", ", parameters)}.");
                    }
                }
            }
        }
    }

    /// <summary>
    /// The argument names of every overload called <paramref name="name"/> (case-insensitive), or null when there is none.
    /// Serilog also offers the receiver's own methods (<c>Logger</c>, <c>Sink</c>, <c>FromLogContext</c>) under the
    /// same names, so they count as overloads too.
    /// </summary>
    private static List<string>? Parameters(List<MethodInfo> extensions, Type receiver, string name)
    {
        List<string>? parameters = null;
        foreach (var method in extensions)
        {
            if (method.GetParameters()[0].ParameterType == receiver && method.Name.Equals(name, StringComparison.OrdinalIgnoreCase))
            {
                AddNames(parameters ??= [], method.GetParameters().AsSpan(1));
            }
        }

        foreach (var method in receiver.GetMethods(BindingFlags.Public | BindingFlags.Instance | BindingFlags.DeclaredOnly))
        {
            if (method.Name.Equals(name, StringComparison.OrdinalIgnoreCase))
            {
                AddNames(parameters ??= [], method.GetParameters());
            }
        }

        return parameters;
    }

    private static void AddNames(List<string> names, ReadOnlySpan<ParameterInfo> parameters)
    {
        foreach (var parameter in parameters)
        {
            if (parameter.Name is { } name && !names.Contains(name, StringComparer.OrdinalIgnoreCase))
            {
                names.Add(name);
            }
        }
    }

    /// <summary>
    /// Found as Serilog finds them: public static extension methods of public static top-level classes in the
    /// <c>Using</c> assemblies and the loaded assemblies whose name contains "serilog".
    /// </summary>
    private static List<MethodInfo> ConfigurationMethods(IConfigurationSection section)
    {
        var assemblies = new HashSet<Assembly>();
        foreach (var name in section.GetSection("Using").GetChildren())
        {
            try
            {
                assemblies.Add(Assembly.Load(new AssemblyName(name.Value!)));
            }
            catch (Exception ex) when (ex is not OutOfMemoryException)
            {
                // Reported already: Serilog failed to load it in Read.
            }
        }

        foreach (var assembly in AppDomain.CurrentDomain.GetAssemblies())
        {
            if (!assembly.IsDynamic && assembly.GetName().Name?.Contains("serilog", StringComparison.OrdinalIgnoreCase) == true)
            {
                assemblies.Add(assembly);
            }
        }

        var methods = new List<MethodInfo>();

        // Serilog.Settings.Configuration's own surrogates ("Sink" taking sink, "With" taking filter, "Logger"), internal
        // and named unlike the instance methods they wrap: read from the version loaded, as it offers them.
        if (typeof(ConfigurationLoggerConfigurationExtensions).Assembly.GetType("Serilog.Settings.Configuration.SurrogateConfigurationMethods") is { } surrogates)
        {
            foreach (var method in surrogates.GetMethods(BindingFlags.Public | BindingFlags.NonPublic | BindingFlags.Static | BindingFlags.DeclaredOnly))
            {
                if (method.GetParameters().Length > 0)
                {
                    methods.Add(method);
                }
            }
        }

        foreach (var assembly in assemblies)
        {
            Type[] types;
            try
            {
                types = assembly.GetExportedTypes();
            }
            catch (Exception ex) when (ex is not OutOfMemoryException)
            {
                continue;
            }

            foreach (var type in types)
            {
                if (!type.IsSealed || !type.IsAbstract || type.IsNested)
                {
                    continue;
                }

                foreach (var method in type.GetMethods(BindingFlags.Public | BindingFlags.Static | BindingFlags.DeclaredOnly))
                {
                    if (method.IsDefined(typeof(ExtensionAttribute), false) && method.GetParameters().Length > 0)
                    {
                        methods.Add(method);
                    }
                }
            }
        }

        return methods;
    }

    /// <summary>Never inlined into <see cref="Apply"/>: an app without a section does not load Serilog.Settings.Configuration.</summary>
    [MethodImpl(MethodImplOptions.NoInlining)]
    private static void Read(LoggerConfiguration logger, IConfiguration configuration) => logger.ReadFrom.Configuration(configuration);

    private static InvalidOperationException Failure(List<string> errors) =>
        new($"The 'Serilog' configuration section cannot be applied: {string.Join(Environment.NewLine, errors)}");

    /// <summary>Level names only: Serilog would also take "3" for Warning, the silent surprise the Observability enums reject too.</summary>
    private static void CheckLevels(IConfigurationSection section, List<string> errors)
    {
        var minimum = section.GetSection("MinimumLevel");
        CheckLevel(minimum, errors);
        CheckLevel(minimum.GetSection("Default"), errors);
        foreach (var child in minimum.GetSection("Override").GetChildren())
        {
            CheckLevel(child, errors);
        }

        foreach (var child in section.GetSection("LevelSwitches").GetChildren())
        {
            CheckLevel(child, errors);
        }

        CheckArgumentLevels(section, errors);
    }

    private static void CheckArgumentLevels(IConfigurationSection section, List<string> errors)
    {
        foreach (var child in section.GetChildren())
        {
            if (child.Value is not null)
            {
                if (child.Key.Equals("restrictedToMinimumLevel", StringComparison.OrdinalIgnoreCase))
                {
                    CheckLevel(child, errors);
                }
            }
            else
            {
                CheckArgumentLevels(child, errors);
            }
        }
    }

    private static void CheckLevel(IConfigurationSection level, List<string> errors)
    {
        // "$name" refers to a level switch, which Serilog resolves itself.
        if (level.Value is not { } value || value.StartsWith('$'))
        {
            return;
        }

        foreach (var name in Enum.GetNames<LogEventLevel>())
        {
            if (string.Equals(name, value.Trim(), StringComparison.OrdinalIgnoreCase))
            {
                return;
            }
        }

        errors.Add($"{level.Path} must be one of {LevelNames}; was '{value}'.");
    }

    /// <summary>Serilog's messages name the value but not the key: find the keys whose value the message quotes.</summary>
    private static string Explain(IConfigurationSection section, Exception ex)
    {
        var keys = new List<string>();
        foreach (var (path, value) in Leaves(section))
        {
            if (value.Length > 1 && ex.Message.Contains(value, StringComparison.Ordinal))
            {
                keys.Add($"{path} ('{value}')");
            }
        }

        var what = keys.Count > 0 ? string.Join(", ", keys) : section.Path;
        return $"{what} could not be applied: {ex.GetType().Name}: {ex.Message}";
    }

    private static string? MissingMethod(IConfigurationSection section, string message)
    {
        var start = message.IndexOf(MethodNotFound, StringComparison.Ordinal);
        if (start < 0)
        {
            return null;
        }

        var rest = message[(start + MethodNotFound.Length)..];
        var end = rest.IndexOfAny([' ', '.', '\r', '\n']);
        var name = end < 0 ? rest : rest[..end];
        var reason = rest.Split('\n')[0];
        var candidates = reason.IndexOf(". Candidate", StringComparison.Ordinal);
        reason = (candidates >= 0 ? reason[..candidates] : reason).TrimEnd('\r', '.', ' ');
        var keys = new List<string>();
        foreach (var (path, value) in Leaves(section))
        {
            var isName = path.EndsWith(":Name", StringComparison.OrdinalIgnoreCase) || !path.Contains(":Args:", StringComparison.OrdinalIgnoreCase);
            if (isName && string.Equals(value, name, StringComparison.Ordinal))
            {
                keys.Add(path);
            }
        }

        var key = keys.Count > 0 ? string.Join(", ", keys) : section.Path;
        return $"{key} is '{name}', but Serilog found no method {reason} (install the sink's package and list its assembly in Serilog:Using, and check the argument names).";
    }

    private static IEnumerable<(string Path, string Value)> Leaves(IConfigurationSection section)
    {
        foreach (var child in section.GetChildren())
        {
            if (child.Value is { } value)
            {
                yield return (child.Path, value);
            }

            foreach (var leaf in Leaves(child))
            {
                yield return leaf;
            }
        }
    }
}
