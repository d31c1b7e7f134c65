namespace Observability.AspNetCore.SlowQueries;

/// <summary>
/// The <c>DbSystem</c> of a command (the value of the <c>db_system</c> label), named as OpenTelemetry's older database
/// conventions do (<c>postgresql</c>, <c>sqlite</c>, <c>mssql</c>, <c>mysql</c>, …), told from the ADO.NET command type
/// by namespace, so the library needs no reference to any provider.
/// </summary>
internal static class DbSystems
{
    public const string PostgreSql = "postgresql";
    public const string Sqlite = "sqlite";
    public const string SqlServer = "mssql";
    public const string MySql = "mysql";
    public const string Other = "other_sql";

    private static readonly (string Namespace, string System, SqlDialect Dialect)[] Known =
    [
        ("Npgsql", PostgreSql, SqlDialect.Standard),
        ("Microsoft.Data.Sqlite", Sqlite, SqlDialect.Sqlite),
        ("System.Data.SQLite", Sqlite, SqlDialect.Sqlite),
        ("Microsoft.Data.SqlClient", SqlServer, SqlDialect.SqlServer),
        ("System.Data.SqlClient", SqlServer, SqlDialect.SqlServer),
        ("MySqlConnector", MySql, SqlDialect.MySql),
        ("MySql.Data", MySql, SqlDialect.MySql),
        ("Oracle.ManagedDataAccess", "oracle", SqlDialect.Standard),
        ("FirebirdSql", "firebird", SqlDialect.Standard),
        ("IBM.Data", "db2", SqlDialect.Standard),
    ];

    public static (string System, SqlDialect Dialect) Identify(Type commandType)
    {
        var ns = commandType.Namespace ?? string.Empty;
        foreach (var (prefix, system, dialect) in Known)
        {
            if (ns.StartsWith(prefix, StringComparison.Ordinal))
            {
                return (system, dialect);
            }
        }

        return (Other, SqlDialect.Standard);
    }

    /// <summary>Npgsql's own command type: the Npgsql listener sees these, so the EF Core interceptor leaves them to it.</summary>
    public static bool IsNpgsqlCommand(Type commandType) => commandType.FullName == "Npgsql.NpgsqlCommand";
}
