using System.Data.Common;
using System.Runtime.CompilerServices;
using System.Text;

namespace Observability.AspNetCore.Metrics.Bridge;

/// <summary>
/// Keeps secrets out of bridged label values. Database drivers name an unnamed connection pool by its connection
/// string (Npgsql drops <c>Password</c> but keeps <c>SSL Password</c>, key and certificate paths, Kerberos settings and
/// the user), and <c>/metrics</c> is open by default: a label value that parses as a connection string keeps only its
/// host, port and database, which tell pools apart; one that cannot be parsed but names a credential is replaced.
/// Runs once per new series, never per measurement.
/// </summary>
internal static class LabelValues
{
    /// <summary>Written instead of a value that names a credential but cannot be parsed into its parts.</summary>
    public const string Redacted = "redacted";

    // Keys compared lower case without spaces, as Npgsql, SqlClient and MySqlConnector spell them.
    private static readonly HashSet<string> HostKeys = new(StringComparer.Ordinal) { "host", "server", "datasource", "address", "addr", "networkaddress" };
    private static readonly HashSet<string> DatabaseKeys = new(StringComparer.Ordinal) { "database", "db", "initialcatalog" };

    // Credentials and where to find them: seeing any of these makes a value a connection string even without a host.
    private static readonly string[] SecretKeys =
    [
        "password", "psw", "pwd", "sslpassword", "passfile", "sslkey", "sslcertificate", "rootcertificate",
        "kerberosservicename", "krbsrvname", "accesstoken", "accountkey", "sharedaccesskey", "clientsecret", "secret",
    ];

    public static string Sanitize(string value)
    {
        return value.Contains('=', StringComparison.Ordinal) ? SanitizeKeyValues(value) : value;
    }

    /// <summary>
    /// Apart from <see cref="Sanitize"/>, so that the usual value (no <c>=</c>) does not load System.Data.Common and its
    /// type converters into every app when the first series is bridged.
    /// </summary>
    [MethodImpl(MethodImplOptions.NoInlining)]
    private static string SanitizeKeyValues(string value)
    {
        var builder = new DbConnectionStringBuilder();
        try
        {
            builder.ConnectionString = value;
        }
        catch (ArgumentException)
        {
            return NamesSecret(Normalize(value)) ? Redacted : value;
        }

        string? host = null, port = null, database = null;
        var isConnectionString = false;
        foreach (string key in builder.Keys)
        {
            var k = Normalize(key);
            var v = Convert.ToString(builder[key], System.Globalization.CultureInfo.InvariantCulture);
            if (HostKeys.Contains(k))
            {
                host = v;
                isConnectionString = true;
            }
            else if (DatabaseKeys.Contains(k))
            {
                database = v;
                isConnectionString = true;
            }
            else if (k == "port")
            {
                port = v;
            }
            else if (Array.IndexOf(SecretKeys, k) >= 0)
            {
                isConnectionString = true;
            }
        }

        if (!isConnectionString)
        {
            return value;
        }

        var result = new StringBuilder();
        Append(result, "Host", host);
        Append(result, "Port", port);
        Append(result, "Database", database);
        return result.Length == 0 ? Redacted : result.ToString();
    }

    private static void Append(StringBuilder result, string key, string? value)
    {
        if (string.IsNullOrEmpty(value))
        {
            return;
        }

        if (result.Length > 0)
        {
            result.Append(';');
        }

        result.Append(key).Append('=').Append(value);
    }

    private static bool NamesSecret(string normalized)
    {
        foreach (var key in SecretKeys)
        {
            if (normalized.Contains(key + "=", StringComparison.Ordinal))
            {
                return true;
            }
        }

        return false;
    }

    private static string Normalize(string text) => text.Replace(" ", string.Empty, StringComparison.Ordinal).ToLowerInvariant();
}
