"""`civicbot route`: the routing decision for messages, as the assistant would make it
(same model, same rules), one JSON object per message."""

from __future__ import annotations

import json
import sys
from collections.abc import Iterable
from typing import Any, TextIO

from civic.city import get_profile
from civic.i18n import detect_language
from civic.routing import Gazetteer, category_ranking, route
from civic.settings import Settings
from ops.rasa_server import rasa_for_parsing
from ops.training import model_path


async def route_lines(
    settings: Settings, texts: Iterable[str], out: TextIO = sys.stdout, lang: str | None = None
) -> int:
    """Route each text and print its decision; the model is loaded once for all."""
    profile = get_profile(settings.profiles_dir, settings.profile)
    gazetteer = Gazetteer(profile)
    model = model_path(settings.models_dir, settings.profile_dir)
    if not model.exists():
        print("no trained model: run `civicbot train` first", file=sys.stderr)
        return 2
    async with rasa_for_parsing(settings, model) as rasa:
        for text in texts:
            text = text.strip()
            if not text:
                continue
            parsed = await rasa.parse(text)
            decision = route(
                profile,
                gazetteer,
                text=text,
                ranking=category_ranking(parsed),
                threshold=settings.category_threshold,
            )
            result: dict[str, Any] = decision.as_dict()
            result["language"] = lang or detect_language(text)
            out.write(json.dumps(result, ensure_ascii=False) + "\n")
            out.flush()
    return 0
