"""Runs every benchmark; each prints ratios against a baseline measured in the same run."""

from __future__ import annotations

import asyncio
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import backup_copy
import board_scale
import digest_scale
import export_scale
import history_growth
import mailbox_sync
import plan_import
import report_build
import slack_ack
import smtp_ingest
import stats_scale
from common import print_summary

if __name__ == "__main__":
    report_build.main()
    asyncio.run(slack_ack.main())
    smtp_ingest.main()
    digest_scale.main()
    history_growth.main()
    asyncio.run(board_scale.main())
    export_scale.main()
    stats_scale.main()
    backup_copy.main()
    plan_import.main()
    mailbox_sync.main()
    print_summary()
