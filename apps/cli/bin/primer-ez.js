#!/usr/bin/env node
// The `primer-ez` command (a committed stub, so package managers can link it before a build).
import '../dist/cli.js';
