"""Demo directory: the windows and places the ward plan names (施策15 事業2), with their
roles as the plan describes them. Contact details are samples: 555 numbers and addresses
marked 「（サンプル）」 — none of them is real."""

from __future__ import annotations

from datetime import date, timedelta

from hikisupport.directory import services
from hikisupport.directory.schedules import parse_hhmm
from hikisupport.directory.services import ScheduleInput, ServiceInput

SAMPLE = "（掲載している電話番号・住所・時間はデモ用のサンプルです。実際の窓口とは異なります。）"
WEEKDAYS = "MO,TU,WE,TH,FR"


def _rule(freq: str, byday: str, opens: str = "", closes: str = "", closed: bool = False):
    return ScheduleInput(
        freq=freq,
        byday=byday,
        opens_at=parse_hhmm(opens) if opens else None,
        closes_at=parse_hhmm(closes) if closes else None,
        closed=closed,
    )


def demo_services(today: date) -> list[ServiceInput]:
    old = today - timedelta(days=200)  # one entry is due for its check (reminder list)
    sumairu = [
        (
            "荻窪",
            "杉並区荻窪5丁目（サンプル住所）",
            "0355550141",
            "JR・東京メトロ「荻窪」駅 徒歩5分",
        ),
        ("高円寺", "杉並区高円寺南3丁目（サンプル住所）", "0355550142", "JR「高円寺」駅 徒歩7分"),
        (
            "高井戸",
            "杉並区高井戸東2丁目（サンプル住所）",
            "0355550143",
            "京王井の頭線「高井戸」駅 徒歩6分",
        ),
    ]
    entries = [
        ServiceInput(
            kind="consultation",
            name="くらしのサポートステーション（生活自立支援窓口）",
            name_kana="クラシノサポートステーション",
            operator="杉並区 保健福祉部（サンプル）",
            audiences=["person", "family", "anyone"],
            description=(
                "仕事や生活、お金のことなど、暮らしの困りごとを幅広く受け止める総合相談窓口です。"
                "相談支援員が一人ひとりの状況に合わせた支援プランを一緒に考え、"
                "必要に応じて関係機関につなぎます。ひきこもりの状態にある方やご家族の相談も受けています。\n"
                + SAMPLE
            ),
            address="杉並区阿佐谷南1丁目 区役所東棟（サンプル住所）",
            access="東京メトロ丸ノ内線「南阿佐ケ谷」駅 徒歩1分",
            phone="0355550101",
            cost="無料",
            booking="preferred",
            how_to_apply="まずはお電話ください。来所の日時をご相談のうえ決めます。",
            consult_methods=["phone", "visit", "outreach"],
            anonymous_ok=True,
            family_alone_ok=True,
            accessibility="エレベーター・車いす用トイレがあります。筆談で相談できます。",
            confidentiality="相談の内容は、ご本人の同意なく他に伝えることはありません。",
            latitude=35.69947,
            longitude=139.63662,
            schedules=[_rule("WEEKLY", WEEKDAYS, "8:30", "17:00")],
            last_checked_on=today,
        ),
        ServiceInput(
            kind="consultation",
            name="ひきこもり専門相談窓口",
            name_kana="ヒキコモリセンモンソウダンマドグチ",
            operator="杉並区（委託先：NPO法人 すぎなみ居場所ネット）（サンプル）",
            audiences=["person", "family", "youth", "middle_aged"],
            age_note="年齢の制限はありません",
            description=(
                "ひきこもりの状態にあるご本人やご家族からの相談を、専門の相談員が受けます。"
                "電話・来所のほか、ご自宅への訪問（アウトリーチ）もできます。"
                "ご家族だけの相談、名前を言わない相談もできます。\n" + SAMPLE
            ),
            address="杉並区阿佐谷南1丁目（サンプル住所）",
            access="東京メトロ丸ノ内線「南阿佐ケ谷」駅 徒歩3分",
            phone="0355550102",
            email="soudan@example.jp",
            cost="無料",
            booking="preferred",
            how_to_apply="電話かメールでご連絡ください。メールの返信には数日かかることがあります。",
            consult_methods=["phone", "visit", "outreach", "email", "online"],
            anonymous_ok=True,
            family_alone_ok=True,
            confidentiality="秘密は守ります。相談したことが家族や職場に知られることはありません。",
            schedules=[
                _rule("WEEKLY", WEEKDAYS, "9:00", "17:00"),
                _rule("MONTHLY", "2SA,4SA", "10:00", "16:00"),
            ],
            schedule_note="最終受付は閉まる30分前です。",
            last_checked_on=today,
        ),
        ServiceInput(
            kind="ibasho",
            name="居場所事業「ほっとスペースすぎなみ」",
            name_kana="ホットスペーススギナミ",
            operator="NPO法人 すぎなみ居場所ネット（サンプル）",
            audiences=["person", "youth", "middle_aged"],
            age_note="おおむね15歳以上",
            description=(
                "ひきこもりの状態にある方が、就労を迫られることなく、安心して過ごせる居場所です。"
                "話をしても、しなくてもかまいません。ボードゲームや軽い作業、お茶の時間があります。"
                "見学だけでも歓迎します。\n" + SAMPLE
            ),
            address="杉並区高円寺北2丁目（サンプル住所）",
            access="JR「高円寺」駅 徒歩8分",
            phone="0355550103",
            cost="無料（飲み物代100円程度）",
            booking="none",
            how_to_apply="申込は不要です。開いている時間に直接お越しください。",
            consult_methods=["phone", "visit"],
            anonymous_ok=True,
            family_alone_ok=False,
            accessibility="1階で段差はありません。静かな部屋もあります。",
            schedules=[
                _rule("WEEKLY", "SA", "13:00", "16:00"),
                _rule("WEEKLY", "WE", "14:00", "17:00"),
            ],
            closed_on_holidays=False,
            last_checked_on=today,
        ),
        ServiceInput(
            kind="ibasho",
            name="居場所事業「日曜のたまり場」",
            name_kana="ニチヨウノタマリバ",
            operator="NPO法人 すぎなみ居場所ネット（サンプル）",
            audiences=["person", "anyone"],
            description=(
                "日曜の午後に開く、月に数回の居場所です。同じような経験のある人と、"
                "ゆっくり過ごせます。\n" + SAMPLE
            ),
            address="杉並区西荻北3丁目（サンプル住所）",
            access="JR「西荻窪」駅 徒歩6分",
            phone="0355550104",
            cost="無料",
            booking="none",
            consult_methods=["visit"],
            schedules=[
                _rule("WEEKLY", "SU", "13:00", "16:00"),
                _rule("MONTHLY", "1SU,3SU,5SU", closed=True),
            ],
            last_checked_on=old,
        ),
        ServiceInput(
            kind="consultation",
            name="地域包括支援センター ケア24",
            name_kana="チイキホウカツシエンセンター ケアニジュウヨン",
            operator="杉並区（委託先：社会福祉法人）（サンプル）",
            audiences=["family", "middle_aged"],
            age_note="主に65歳以上の方とそのご家族",
            description=(
                "高齢者の暮らしを支える総合相談窓口です。高齢の親と、ひきこもりの状態にある"
                "お子さんの世帯（いわゆる8050）の相談も受け、必要な支援につなぎます。\n" + SAMPLE
            ),
            address="杉並区成田東4丁目（サンプル住所）",
            phone="0355550105",
            cost="無料",
            booking="none",
            consult_methods=["phone", "visit", "outreach"],
            family_alone_ok=True,
            schedules=[_rule("WEEKLY", "MO,TU,WE,TH,FR,SA", "9:00", "17:00")],
            last_checked_on=today,
        ),
        *[
            ServiceInput(
                kind="consultation",
                name=f"障害者地域相談センター すまいる{area}",
                name_kana=f"ショウガイシャチイキソウダンセンター スマイル{kana}",
                operator="杉並区（委託先）（サンプル）",
                audiences=["person", "family"],
                description=(
                    "障害のある方やそのご家族の、暮らしや福祉サービスについての相談窓口です。"
                    "こころの不調がある方の相談も受けています。\n" + SAMPLE
                ),
                address=address,
                access=access,
                phone=phone,
                cost="無料",
                booking="preferred",
                consult_methods=["phone", "visit", "other"],
                family_alone_ok=True,
                accessibility="FAX・手紙での相談もできます。",
                schedules=[_rule("WEEKLY", WEEKDAYS, "9:00", "17:00")],
                last_checked_on=today,
            )
            for (area, address, phone, access), kana in zip(
                sumairu, ("オギクボ", "コウエンジ", "タカイド"), strict=True
            )
        ],
        ServiceInput(
            kind="consultation",
            name="保健センター（こころの健康相談）",
            name_kana="ホケンセンター",
            operator="杉並区 保健所（サンプル）",
            audiences=["person", "family", "anyone"],
            description=(
                "こころの健康についての相談を、保健師や精神科医が受けます。"
                "ご家族だけの相談もできます。精神科医の相談は予約制です。\n" + SAMPLE
            ),
            address="杉並区荻窪5丁目（サンプル住所）",
            phone="0355550106",
            cost="無料",
            booking="required",
            how_to_apply="電話で予約してください。",
            consult_methods=["phone", "visit"],
            family_alone_ok=True,
            schedules=[_rule("WEEKLY", WEEKDAYS, "8:30", "17:00")],
            last_checked_on=today,
        ),
        ServiceInput(
            kind="consultation",
            name="在宅医療・生活支援センター",
            name_kana="ザイタクイリョウセイカツシエンセンター",
            operator="杉並区（サンプル）",
            audiences=["family", "middle_aged"],
            description=(
                "医療と介護、暮らしの支援をつなぐ相談窓口です。通院が難しい方の在宅医療や、"
                "世帯全体の生活の困りごとの相談を受けます。\n" + SAMPLE
            ),
            address="杉並区天沼3丁目（サンプル住所）",
            phone="0355550107",
            cost="無料",
            booking="none",
            consult_methods=["phone", "visit", "outreach"],
            schedules=[_rule("WEEKLY", WEEKDAYS, "8:30", "17:15")],
            last_checked_on=today,
        ),
    ]
    return entries


def load_directory(today: date) -> None:
    """Add the demo directory (the caller decides that demo data is missing)."""
    for data in demo_services(today):
        services.create_service(data)
