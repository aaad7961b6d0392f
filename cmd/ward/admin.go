package main

import (
	"encoding/json"
	"os"

	"github.com/spf13/cobra"
	"github.com/ward-id/ward/internal/server"
)

func adminCmd() *cobra.Command {
	admin := &cobra.Command{Use: "admin", Short: "Server administration on the database directly"}
	var cfg server.Config
	export := &cobra.Command{
		Use:   "export",
		Short: "Print the bootstrap admin's admin.json from the shared database (any replica's DSN and KEK)",
		Long: `ward admin export reads the bootstrap admin that replicas share through the
database (sealed under the KEK) and prints it as admin.json, so any operator
holding the DSN and the KEK can recover it without a replica's data directory.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			a, err := server.ExportAdmin(cmd.Context(), cfg)
			if err != nil {
				return err
			}
			enc := json.NewEncoder(cmd.OutOrStdout())
			enc.SetIndent("", "  ")
			return enc.Encode(a)
		},
	}
	f := export.Flags()
	f.StringVar(&cfg.DataDir, "data", "ward-data", "data directory (for SQLite's ward.db and the default kek file)")
	f.StringVar(&cfg.Storage, "storage", "sqlite", "sqlite or postgres")
	f.StringVar(&cfg.DSN, "dsn", os.Getenv("WARD_DSN"), "PostgreSQL URL (env WARD_DSN)")
	f.StringVar(&cfg.KEKFile, "kek-file", "", "key-encryption key file (default <data>/kek; env WARD_KEK overrides)")
	admin.AddCommand(export)
	return admin
}
