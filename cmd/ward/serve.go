package main

import (
	"log/slog"
	"os"

	"github.com/spf13/cobra"
	"github.com/ward-id/ward/internal/server"
)

func serveCmd() *cobra.Command {
	var cfg server.Config
	var logLevel string
	cmd := &cobra.Command{
		Use:   "serve",
		Short: "Run the Ward server (HTTPS on 127.0.0.1:8443, state in ./ward-data)",
		RunE: func(cmd *cobra.Command, args []string) error {
			var lvl slog.Level
			if err := lvl.UnmarshalText([]byte(logLevel)); err != nil {
				return err
			}
			cfg.Logger = slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: lvl}))
			cfg.DataDir = cmd.Flag("data").Value.String()
			return server.Run(cmd.Context(), cfg)
		},
	}
	f := cmd.Flags()
	f.StringVar(&cfg.Addr, "addr", "127.0.0.1:8443", "address to listen on (HOST:PORT)")
	f.StringVar(&cfg.Storage, "storage", "sqlite", "storage backend: sqlite (embedded, in --data) or postgres")
	f.StringVar(&cfg.DSN, "dsn", "", "PostgreSQL connection URL for --storage postgres")
	f.StringVar(&cfg.PublicURL, "public-url", "", "base URL clients use, put in documents and issuer URLs (default https://<addr>)")
	f.StringVar(&logLevel, "log-level", "info", "log level: debug, info, warn, error")
	return cmd
}
