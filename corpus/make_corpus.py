#!/usr/bin/env python3
"""Generate the wiredup syndication test corpus.

Every story, name, place, outlet, agency and website in this file is invented
by the wiredup project.  Nothing is copied from a real article.

Running this script rewrites, byte for byte:
    corpus/docs.jsonl    one document per line: id, text, source, published
    corpus/labels.jsonl  one line per document: id, cluster
    corpus/README.md     description of every cluster and every document

The only randomness (where HTML debris lands in scraper reposts) comes from
random.Random seeded with a string derived from SEED and the document id, so
the output does not depend on PYTHONHASHSEED or on the order of generation.
"""

import json
import random
import re
from datetime import datetime, timedelta, timezone
from itertools import combinations
from pathlib import Path

SEED = "wiredup-corpus-v1"
OUT = Path(__file__).resolve().parent


def paras(s):
    return [p.strip() for p in s.strip().split("\n\n")]


def words(s):
    return len(s.split())


def ts(s):
    return datetime.strptime(s, "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=timezone.utc)


def iso(dt):
    return dt.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def fmt_delay(td):
    m = int(td.total_seconds() // 60)
    if m < 60:
        return f"+{m} min"
    h, mm = divmod(m, 60)
    return f"+{h} h" if mm == 0 else f"+{h} h {mm} min"


# ---------------------------------------------------------------------------
# Invented wire stories.  First paragraph is the headline line.
# ---------------------------------------------------------------------------

WIRE = {}

WIRE["quake"] = dict(
    agency="AMP", source="amp-newswire.com", published="2025-03-04T04:40:00Z",
    desc="magnitude 6.1 earthquake in Korvel, northern Norvania",
    caption="Rescuers search the rubble of a collapsed house in Korvel, "
            "March 4, 2025 \u00a9 AMP \u2013 Lena Dravik",
    text="""
Magnitude 6.1 earthquake strikes northern Norvania, at least 14 dead

KORVEL, Norvania (AMP) - A magnitude 6.1 earthquake struck the mountainous north of Norvania early on Tuesday, killing at least 14 people, injuring more than 200 and bringing down dozens of older buildings in the market town of Korvel, officials said.

The quake hit at 4:12 am local time at a depth of about 10 kilometres, roughly 18 kilometres south-east of Korvel, according to the Norvanian Seismological Institute. Residents as far away as the capital, Dunmere, 240 kilometres to the south, reported feeling it.

"We heard a roar like a train and then the walls started to move," said Teodor Viklan, 52, a baker whose shop on Korvel's main square partially collapsed. "By the time we got outside, the church tower was already down."

Rescue teams were searching through rubble for at least nine people reported missing, regional governor Ilse Marrow told reporters. Heavy machinery was slowed by landslides that blocked two of the three roads into the valley, and army helicopters were ferrying the injured to hospitals in Saltreach.

The Halmstrand region sits on the Vessen fault, a boundary zone that has produced several destructive earthquakes in the past century. The last major quake there, a magnitude 6.4 tremor in 1987, killed 63 people and led to new building codes, although many houses in the old town of Korvel predate those rules.

Prime Minister Aldo Fenwick cut short a visit abroad and said the government would release emergency funds. More than 30 aftershocks were recorded in the first six hours, the strongest of magnitude 4.8, and authorities urged residents to stay out of damaged buildings.
""")

WIRE["rail"] = dict(
    agency="Northwire", source="northwire-news.com", published="2025-03-06T07:30:00Z",
    desc="72-hour national rail strike in Meridia over drivers' pensions",
    caption="Passengers wait at an almost empty platform at Vellin Central "
            "station, March 6, 2025 \u00a9 Northwire \u2013 Paul Edrin",
    text="""
Rail workers in Meridia begin 72-hour strike over pensions

VELLIN, Meridia (Northwire) - Train drivers and signal staff across Meridia walked off the job at midnight on Thursday, launching a 72-hour strike that halted nearly all intercity services and left hundreds of thousands of commuters searching for alternatives.

The walkout was called by the Federation of Rail Workers (FRW) after talks with state operator Meridian Rail collapsed on Wednesday evening over a proposal to raise the retirement age for drivers from 57 to 62.

"Nobody takes this decision lightly, but our members have been driving overnight freight and dawn commuter trains for thirty years," FRW general secretary Hanna Oskarsen said outside the union's headquarters. "They were promised a pension at 57 and they will not accept a change imposed without negotiation."

Meridian Rail said only 12 percent of scheduled trains would run on Thursday, mostly on suburban lines around the capital, and advised passengers to postpone non-essential journeys. Motorways into Vellin were jammed by 7 am, and bike-sharing operators reported record demand.

Transport Minister Pavel Dorn called the strike "disproportionate" and said the reform was needed to keep the rail pension fund solvent, which the government says faces a deficit of 1.4 billion crowns by 2030. He said he was ready to meet union leaders "at any hour".

It is the third national rail strike in Meridia since October. Freight operators warned that a prolonged stoppage could disrupt deliveries of fuel and grain to the country's northern ports.
""")

WIRE["rates"] = dict(
    agency="WPA", source="wpa-newswire.com", published="2025-03-05T11:05:00Z",
    desc="Bank of Norvania raises its main rate to 4.75 percent",
    caption="Governor Miriam Castell speaks at a news conference in Dunmere, "
            "March 5, 2025 \u00a9 WPA \u2013 Jonas Hertel",
    text="""
Bank of Norvania raises rates to 4.75 percent, signals more may come

DUNMERE (WPA) - The Bank of Norvania raised its main interest rate by a quarter of a percentage point to 4.75 percent on Wednesday, its fourth increase in a year, saying inflation was proving more stubborn than expected.

The decision by the seven-member monetary council was split five to two, with two members voting to hold rates steady. Most economists surveyed by WPA last week had expected the increase.

Consumer prices in Norvania rose 5.9 percent in the year to January, driven largely by food and housing costs, well above the bank's 2 percent target. Inflation peaked at 9.3 percent last spring after energy prices surged across the region.

"We are seeing encouraging signs in goods prices, but services inflation and wage growth remain too high," Governor Miriam Castell told a news conference. "The council is prepared to act again if needed."

The Norvanian mark climbed 0.6 percent against the dollar after the announcement, while yields on two-year government bonds rose to their highest level since 2008. Shares in the country's largest lenders, Kestrel Bank and Halvorsen & Pike, gained more than 2 percent.

Business groups criticised the move. The Norvanian Chamber of Commerce said higher borrowing costs were already forcing small firms to delay investment, and urged the bank to "look beyond the headline numbers".
""")

WIRE["satellite"] = dict(
    agency="AMP", source="amp-newswire.com", published="2025-03-08T12:05:00Z",
    desc="start-up rocket puts Meridia's first home-built weather satellite in orbit",
    caption="The Kite-2 rocket lifts off from the Cape Orla launch site, "
            "March 8, 2025 \u00a9 AMP \u2013 Nils Aramo",
    text="""
Norvanian start-up puts Meridian weather satellite into orbit

SALTREACH, Norvania (AMP) - A small rocket built by Norvanian start-up Aurell Launch Systems lifted off from a coastal spaceport on Saturday and placed Meridia's first domestically designed weather satellite into orbit, the company said.

The 21-metre Kite-2 rocket left the Cape Orla launch site at 11:42 am and released the 180-kilogram Sentinel-M satellite into a polar orbit about 550 kilometres above the Earth some 58 minutes later.

"Today we became a launch company, not a test programme," Aurell chief executive Jonas Revik said in a livestream from mission control, as staff behind him hugged and applauded. The firm's first attempt, in 2023, ended when the rocket's second stage failed to ignite.

The satellite will provide images of cloud cover, sea-surface temperature and snow depth every 90 minutes, data the Meridian Meteorological Office says will improve storm warnings for its long northern coastline.

The mission cost about 38 million euros, according to the Meridian space agency, a fraction of the price of flying on a larger foreign rocket. Aurell says it has contracts for six more launches through 2027, including two for a regional telecoms operator.
""")

WIRE["museum"] = dict(
    agency="WPA", source="wpa-newswire.com", published="2025-03-10T07:45:00Z",
    desc="14th-century crown stolen from the National History Museum in Vellin",
    caption="Police officers outside the National History Museum in Vellin, "
            "March 10, 2025 \u00a9 WPA \u2013 Carla Menz",
    text="""
Thieves take medieval crown from Vellin museum in four-minute raid

VELLIN, Meridia (WPA) - Thieves smashed their way into the National History Museum in Vellin before dawn on Monday and escaped with a 14th-century gold crown and three jewelled reliquaries in a raid that lasted less than four minutes, police said.

Security cameras showed three masked people forcing a ground-floor window at 5:06 am, breaking a display case with a hydraulic cutter and leaving in a dark van, police spokesman Erik Salo told reporters. An alarm sounded, but officers arriving at the scene found the gallery empty.

The stolen crown, known as the Crown of Queen Adela, is considered one of Meridia's most important national treasures. Museum director Sofia Amberley said its value could not be expressed in money. "It is part of who we are," she said, her voice breaking.

Experts warned that the gold could be melted down and the gems sold separately, making recovery harder with every passing day. International police networks have been alerted, and checks have been stepped up at border crossings.

The museum, which reopened last year after a 40-million-crown renovation, will remain closed while forensic teams examine the gallery. Culture Minister Lotte Brannick said an independent review of security at all state museums would begin immediately.

It is the second major art theft in the region this year. In January, thieves took a collection of antique clocks from the Brannock & Sons auction house in Ostra; none of them has been recovered.
""")

WIRE["wildfire"] = dict(
    agency="Northwire", source="northwire-news.com", published="2025-03-09T18:10:00Z",
    desc="wildfire west of Ostra forces 3,000 people to evacuate",
    caption="A water-bombing aircraft flies over burning forest near Marsk, "
            "March 9, 2025 \u00a9 Northwire \u2013 Ida Rosk",
    text="""
Wildfire forces evacuation of 3,000 people near Ostra

OSTRA, Meridia (Northwire) - Firefighters battled a fast-moving wildfire in pine forests west of Ostra on Sunday, forcing the evacuation of about 3,000 residents from five villages as strong winds pushed the flames towards the coast.

The fire broke out on Saturday afternoon near the village of Marsk and had burned some 4,200 hectares by Sunday evening, the regional civil protection agency said. More than 600 firefighters, supported by eight water-bombing aircraft, were deployed.

"The wind changes direction every hour, which makes it very hard to build a line," fire chief Anton Berglof said. Two firefighters were treated for smoke inhalation, and no other injuries were reported.

Evacuees were housed in schools and a sports hall in Ostra. Several holiday homes and a sawmill were destroyed, according to local media, and a stretch of the coastal highway was closed in both directions.

An unusually dry winter has left much of southern Meridia at high risk of fire. Authorities banned outdoor burning across three provinces last week and said an investigation into the cause of the blaze was under way.
""")

WIRE["transfer"] = dict(
    agency="AMP", source="amp-newswire.com", published="2025-03-07T14:00:00Z",
    desc="Dunmere FC sign striker Rafael Okonjo for a record fee",
    caption=None,
    text="""
Dunmere FC sign striker Okonjo for Norvanian record fee

DUNMERE (AMP) - Dunmere FC have signed striker Rafael Okonjo from Meridian champions Vellin United for a club-record fee reported to be 32 million euros, the Norvanian league leaders announced on Friday.

The 24-year-old, who scored 27 goals in all competitions last season, signed a five-year contract and will wear the number nine shirt. Neither club disclosed the fee, but Norvanian media said add-ons could take it to 38 million.

"I grew up watching this club on television. When Dunmere called, there was only one answer," Okonjo said in a video posted on the club's social media accounts.

Coach Ilario Bent has been searching for a centre-forward since captain Mats Greer suffered a knee injury in November. Dunmere sit three points clear at the top of the table with 12 matches remaining.

The deal beats the previous Norvanian record of 25 million euros, paid by Saltreach Athletic for a defender in 2022.
""")

WIRE["vaccine"] = dict(
    agency="WPA", source="wpa-newswire.com", published="2025-03-13T09:00:00Z",
    desc="nasal RSV vaccine for infants cuts hospital admissions by 78 percent in a trial",
    caption="A nurse gives nasal drops to a baby during the trial in Dunmere, "
            "November 2023 \u00a9 WPA \u2013 Sara Voll",
    text="""
Nasal RSV vaccine cuts infant hospital admissions by 78 percent in trial

DUNMERE (WPA) - An experimental nasal vaccine against respiratory syncytial virus (RSV) cut hospital admissions among infants by 78 percent in a large late-stage trial, its Norvanian developer Corvane Biologics said on Thursday.

The trial enrolled 9,400 babies aged two to six months at 61 hospitals in four countries during two winter seasons. Half received two doses of the vaccine, given as drops in the nose, and half received a placebo.

"For the first time we have a needle-free option that parents can accept easily and that protects babies through their first winter," lead investigator Dr. Katrin Osei of Dunmere University Hospital said.

Side effects were mostly mild, including a runny nose and slight fever, the company said. Full results will be presented at a medical conference in May and submitted to regulators in Norvania and neighbouring countries later this year.

RSV is a leading cause of hospitalisation in young children. Existing protection for infants relies on antibody injections, which are expensive and in short supply in many countries.
""")

WIRE["canal"] = dict(
    agency="Northwire", source="northwire-news.com", published="2025-03-12T14:15:00Z",
    desc="container ship aground in the Brannock Canal blocks traffic",
    caption="Tugboats work to refloat the Marisol Star in the Brannock Canal, "
            "March 12, 2025 \u00a9 Northwire \u2013 Tove Lind",
    text="""
Container ship runs aground in Brannock Canal, halting traffic

BRANNOCK BAY, Norvania (Northwire) - A 300-metre container ship ran aground in the Brannock Canal early on Wednesday, blocking the busiest shipping lane in the region and leaving more than 40 vessels waiting at either end, the canal authority said.

The Marisol Star, operated by Tellmark & Roos Shipping and carrying about 14,000 containers, lost steering shortly after 2 am in strong crosswinds and drifted into the canal's eastern bank, authority spokeswoman Greta Voss said.

Four tugboats were trying to refloat the ship at high tide on Wednesday afternoon. "We expect to free her within 24 hours, but we cannot promise," Voss said. No injuries or pollution were reported.

The 62-kilometre canal handles around 90 ships a day and saves vessels a detour of more than 500 kilometres around the Orla peninsula. Shipping analysts said each day of closure could delay goods worth hundreds of millions of euros.

It is the second grounding in the canal in three years. An inquiry into the earlier incident recommended widening the channel at its narrowest bends, but work has yet to begin.
""")

# Topical neighbour A (has one outlet copy).
WIRE["storm-a"] = dict(
    agency="AMP", source="amp-newswire.com", published="2025-03-02T06:30:00Z",
    desc="Storm Odalys on the Norvanian coast, AMP's version",
    caption=None,
    text="""
Storm Odalys batters Norvanian coast, 80,000 homes without power

SALTREACH, Norvania (AMP) - Storm Odalys swept across Norvania's western coast overnight into Sunday with gusts of up to 150 kilometres per hour, cutting power to about 80,000 homes, toppling trees and forcing the cancellation of ferry services, authorities said.

The national weather service had issued its highest red warning for three coastal districts on Saturday evening. A 67-year-old man was seriously injured when a tree fell on his car near the port town of Saltreach, police said.

Grid operator NorGrid said crews were working to restore electricity but warned that some rural households could remain without power until Tuesday. Rail services between Saltreach and the capital were suspended after debris was found on the tracks.

"I have lived here forty years and I have never seen waves like it," said harbour master Piet Hallum. Seawater flooded parts of the harbour district, and the town's seafront promenade was closed.

Forecasters said the storm would weaken as it moved inland on Sunday afternoon but warned of heavy rain and possible flooding in river valleys further east.
""")

# Topical neighbour B: same storm, written independently, no copies.
WIRE["storm-b"] = dict(
    agency="Northwire", source="northwire-news.com", published="2025-03-02T08:40:00Z",
    desc="Storm Odalys, Northwire's independently written version",
    caption=None,
    text="""
Hurricane-force winds hit Norvania as Storm Odalys makes landfall

DUNMERE (Northwire) - Storm Odalys made landfall on Norvania's western seaboard late on Saturday, bringing winds strong enough to rip roofs from houses and knocking out electricity to tens of thousands of customers by Sunday morning.

Energy company NorGrid put the number of homes without power at around 78,000 at 9 am, most of them in the coastal districts of Saltreach and Hollin. Repairs were being slowed by fallen trees blocking access roads, it said.

In Saltreach, the port was closed and all ferries to the outlying islands were cancelled for a second day. Emergency services said they had answered more than 1,200 calls overnight, mostly about damaged roofs and trees on roads. One driver was taken to hospital with serious injuries.

Meteorologist Anna Keel of the Norvanian weather service said the strongest gust, 152 km/h, was measured on the island of Vesterholm. "This is among the three most powerful storms to hit the coast in the past twenty years," she said.

Schools in the affected districts will stay closed on Monday. The government said it would assess the damage before deciding whether to declare a natural disaster, which would free up state compensation for property owners.
""")

# ---------------------------------------------------------------------------
# Follow-ups: new stories that reuse ONE background paragraph verbatim.
# The placeholder {BG} is replaced by that paragraph of the named original.
# ---------------------------------------------------------------------------

FOLLOWUPS = {}

FOLLOWUPS["quake-followup"] = dict(
    source="amp-newswire.com", published="2025-03-06T18:20:00Z",
    bg_from="quake", bg_index=5,
    desc="three days after the Korvel quake: aftershocks, tent camp, toll 19",
    text="""
Aftershocks keep Korvel residents in tents as quake toll rises to 19

KORVEL, Norvania (AMP) - Hundreds of families in the earthquake-hit town of Korvel spent a third night in tents and cars on Thursday as a series of strong aftershocks kept them from returning home, and officials raised the death toll to 19.

The army has set up a camp for about 1,500 people on the town's football pitch, with field kitchens and a medical post. Many residents said they were afraid to sleep indoors even where engineers had declared their homes safe. "Every time the ground moves, the children scream," said Marta Hollis, a mother of three.

Engineers have inspected more than 2,300 buildings so far and classified 410 as unsafe, the regional government said. The 13th-century church of St Aldric, whose tower collapsed on Tuesday, will have to be largely rebuilt.

{BG}

The government has approved 120 million marks in emergency aid, and Prime Minister Aldo Fenwick visited the camp on Thursday, promising that every family would have a temporary home "before the first snow". Opposition lawmakers asked why older buildings in the region had never been reinforced.
""")

FOLLOWUPS["rates-followup"] = dict(
    source="wpa-newswire.com", published="2025-03-17T10:30:00Z",
    bg_from="rates", bg_index=3,
    desc="twelve days after the rate rise: mortgage approvals at a three-year low",
    text="""
Norvanian mortgage approvals fall to three-year low as rates bite

DUNMERE (WPA) - Mortgage approvals in Norvania fell in February to their lowest level in three years, central bank data showed on Monday, as rising borrowing costs pushed buyers out of the housing market.

Banks approved 18,200 home loans last month, down 11 percent from January and 27 percent lower than a year earlier. The average rate on a new five-year fixed mortgage rose to 6.1 percent, from 3.4 percent two years ago.

Estate agents said the slowdown was most visible in Dunmere, where average asking prices fell for a fourth straight month. "Buyers are still looking, but they are doing the maths and walking away," said Lars Feeney, who runs an agency in the capital's northern suburbs.

{BG}

The central bank lifted its benchmark rate earlier this month and said further moves were possible. Economists at Kestrel Bank now expect house prices to drop by around 5 percent this year before levelling off in 2026.
""")

# ---------------------------------------------------------------------------
# Plain singletons.
# ---------------------------------------------------------------------------

SINGLES = {}

SINGLES["single-library"] = dict(
    source="saltreach-tribune.com", published="2025-03-01T12:00:00Z",
    desc="Saltreach central library reopens after restoration",
    text="""
Saltreach central library reopens after two-year restoration

Saltreach's central library reopened to the public on Saturday after a two-year restoration that repaired its leaking copper roof and turned a former storage basement into a children's reading room.

The building, designed by architect Hedda Rask and opened in 1912, had been closed since water damage forced staff to move thousands of books into temporary storage in 2023. The work cost 9.2 million marks, shared between the city and a heritage fund.

Hundreds of people queued in the rain before the doors opened at 10 am. "I came here every week as a girl and I have missed it terribly," said retired teacher Agnes Moll, 79, who was first in line.

The library now has a recording studio for podcasts, 40 new computers and longer opening hours on weekday evenings. Librarian Oskar Brede said more than 600 people had signed up for library cards in the first three hours.
""")

SINGLES["single-obit"] = dict(
    source="vellin-observer.com", published="2025-03-05T16:40:00Z",
    desc="obituary of composer Elin Varga",
    text="""
Elin Varga, composer of the Vellin Suite, dies at 88

Elin Varga, the composer whose orchestral Vellin Suite became one of the most performed Meridian works of the 20th century, has died at her home in the capital. She was 88.

Her family said she died peacefully on Tuesday after a short illness.

Born in the fishing village of Narre in 1936, Varga studied piano at the Vellin Conservatory and began composing in her twenties, at a time when few women had their works performed by major orchestras. The Vellin Suite, written in 1964 and inspired by the sounds of the city's markets and harbour, made her a household name.

She went on to write four symphonies, two operas and more than a hundred songs, and taught composition at the conservatory for three decades. Her students included many of the country's leading composers.

The National Symphony Orchestra said it would dedicate its concert on Friday to her memory. She is survived by her two sons and five grandchildren.
""")

SINGLES["single-chess"] = dict(
    source="dunmere-courier.com", published="2025-03-09T19:15:00Z",
    desc="15-year-old becomes youngest Norvanian chess champion",
    text="""
Fifteen-year-old becomes youngest Norvanian chess champion

Fifteen-year-old Mira Tollefsen became the youngest ever Norvanian chess champion on Sunday, winning the national title in Dunmere with a round to spare.

Tollefsen, a student from Saltreach who learned the game from her grandfather at the age of six, scored seven and a half points from nine games, finishing a full point ahead of three grandmasters.

Her decisive win came in the eighth round against the defending champion, Viktor Hale, in an endgame that lasted more than six hours. "I was very tired, but I knew the position was winning if I stayed patient," she said afterwards.

The title earns her a place in the national team for the regional championships in the autumn. The previous record was held by Hale himself, who first won the title at 17.
""")

# ---------------------------------------------------------------------------
# Scraper sites.  Boilerplate is fixed per site and identical on every repost.
# ---------------------------------------------------------------------------

SITES = {
    "scrape1": dict(
        source="trendynewsvault24.com",
        header="Spread the love",
        byline="By Marla Quint",
        bio="Marla Quint is a senior staff writer at Trendy News Vault who covers "
            "breaking news, world affairs and the stories that matter most to our "
            "readers. Before joining the team she spent more than a decade writing "
            "for regional newspapers and lifestyle magazines. When she is not "
            "chasing the latest headlines, Marla enjoys hiking, baking sourdough "
            "bread and spending time with her two rescue dogs. You can reach her "
            "at marla@trendynewsvault24.com.",
        copyright="Copyright \u00a9 2025 Trendy News Vault. All rights reserved.",
        footer=["Related Posts",
                "Leave a Reply Cancel reply",
                "Your email address will not be published. Required fields are marked *"],
        debris="<p> opening tags, &nbsp;, &amp;",
    ),
    "scrape2": dict(
        source="worldheadlinebuzz.net",
        header="Share on Facebook Share on Twitter Share on WhatsApp",
        byline="By Devon Ashcroft",
        bio="Devon Ashcroft is an editor and content strategist with a passion for "
            "international news, technology and sport. He has contributed to a "
            "variety of online publications and believes that quality journalism "
            "should be free and accessible to everyone. Devon holds a degree in "
            "communications and lives with his family in a small town by the sea, "
            "where he also coaches a youth football team on weekends.",
        copyright="\u00a9 2025 World Headline Buzz \u2013 All Rights Reserved | Powered by BuzzPress",
        footer=["You May Also Like",
                "Tags: Breaking News, World, Trending",
                "Share this: Facebook Twitter Pinterest"],
        debris="broken '< p>' tags, trailing <br />, &amp;",
    ),
    "scrape3": dict(
        source="newsnuggetdaily.info",
        header="Home \u00bb Latest News \u00bb World",
        byline="Posted by Rowan Ellery",
        bio="About the author: Rowan Ellery is a freelance journalist and blogger "
            "who has been writing about politics, culture and current events for "
            "over eight years. Rowan's work focuses on making complex news easy to "
            "understand for busy readers. In his free time he enjoys photography, "
            "travelling to new places, reading crime novels and trying out new "
            "recipes in the kitchen. Follow Rowan for daily updates.",
        copyright="Content copyright 2025 News Nugget Daily. Republication without "
                  "permission is prohibited.",
        footer=["Related Articles",
                "Don't miss: subscribe to our newsletter for the top stories "
                "delivered to your inbox every morning."],
        debris="trailing <br>, &nbsp;, occasional <p>, &amp;",
    ),
}

# Short stories that exist only as one scraper repost each (hard negatives
# for boilerplate: same site, different story).  Story = headline + body,
# 60-100 words.
SHORTS = {}

SHORTS["scrape1-short1"] = dict(
    site="scrape1", published="2025-03-03T09:10:00Z",
    desc="Dunmere bakery wins national sourdough prize",
    caption="The Pell family bakery in Eastgate \u00a9 Trendy News Vault",
    text="""
Dunmere bakery wins national sourdough prize

A family-run bakery in the Dunmere suburb of Eastgate has been named the best in Norvania at the annual National Bread Awards. Judges praised the Pell family's rye sourdough for its "deep flavour and perfect crust".

The bakery, opened by Tomas Pell's grandparents in 1961, beat 140 other entrants. "We still use the same starter my grandmother kept in a jar," Pell said. The prize of 5,000 marks will go towards a new oven.
""")

SHORTS["scrape1-short2"] = dict(
    site="scrape1", published="2025-03-11T15:25:00Z",
    desc="Ostra council approves 22 km of cycle lanes",
    caption=None,
    text="""
Ostra council approves 22 kilometres of new cycle lanes

Ostra city council voted 31 to 14 on Tuesday to build 22 kilometres of protected cycle lanes over the next three years. The plan, costing about 18 million crowns, will link the university campus with the harbour and the central station.

Supporters said it would cut traffic and improve safety, while some shop owners on Harbour Street warned that losing parking spaces would hurt business. Work on the first section is due to start in June.
""")

SHORTS["scrape2-short1"] = dict(
    site="scrape2", published="2025-03-02T13:00:00Z",
    desc="Dunmere Zoo twin snow leopard cubs",
    caption="One of the two cubs in its den \u00a9 Dunmere Zoo",
    text="""
Dunmere Zoo welcomes twin snow leopard cubs

Dunmere Zoo has announced the birth of twin snow leopard cubs, the first born at the zoo in more than a decade. The cubs, a male and a female, were born to seven-year-old mother Sasha in late January and have been kept out of public view while they bond.

Keepers said both were healthy and gaining weight. Visitors should be able to see them from April, and the zoo is inviting the public to suggest names online.
""")

SHORTS["scrape2-short2"] = dict(
    site="scrape2", published="2025-03-07T08:45:00Z",
    desc="Hollin pensioner claims 12 million mark lottery jackpot",
    caption=None,
    text="""
Hollin pensioner claims 12 million mark lottery jackpot

A retired postman from Hollin has claimed a 12 million mark jackpot in the national lottery, organisers said on Wednesday. The 71-year-old, who asked not to be named, has played the same numbers, based on his grandchildren's birthdays, every week for 30 years.

He only discovered the win when he checked an old ticket in his coat pocket, days before it expired. He plans to buy a new car and take his wife on a cruise.
""")

SHORTS["scrape2-short3"] = dict(
    site="scrape2", published="2025-03-12T17:30:00Z",
    desc="electric ferry for the Saltreach-Vesterholm route",
    caption="An artist's impression of the new ferry \u00a9 Coastlink",
    text="""
Vesterholm ferry route to get all-electric ship

The ferry route between Saltreach and the island of Vesterholm will be served by a fully electric ship from next year, operator Coastlink said.

The 90-metre vessel, under construction at a shipyard in Brannock Bay, will carry up to 400 passengers and 120 cars and recharge in 15 minutes at each end of the 45-minute crossing. Coastlink said the switch would cut its emissions on the route by about 9,000 tonnes a year.
""")

SHORTS["scrape3-short1"] = dict(
    site="scrape3", published="2025-03-04T20:00:00Z",
    desc="Vellin marathon participation record",
    caption=None,
    text="""
Vellin marathon sets participation record

A record 24,600 runners took part in the Vellin marathon on Sunday, organisers said, beating the previous high set in 2019 by almost 3,000.

The men's race was won by Kasper Dahl in 2 hours 9 minutes, a course record, while Lina Ferro won the women's race in 2:26. Mild weather and a new flat route along the river helped produce fast times. The event raised more than 600,000 crowns for children's charities.
""")

SHORTS["scrape3-short2"] = dict(
    site="scrape3", published="2025-03-13T11:50:00Z",
    desc="Ostra heritage tram line to reopen",
    caption="A restored 1920s tramcar in the depot \u00a9 Ostra Transport",
    text="""
Historic harbour tram line in Ostra to reopen this summer

Ostra's historic harbour tram line, closed since 2019 for safety reasons, will reopen in July after a full restoration, the city's transport authority said. Three wooden tramcars built in the 1920s have been repaired by volunteers, and 3.5 kilometres of track have been relaid.

The line will run at weekends between the old customs house and the lighthouse. Tickets will cost 30 crowns, and children under 12 travel free.
""")

# ---------------------------------------------------------------------------
# Edit helpers.
# ---------------------------------------------------------------------------

SMALL = {"a", "an", "the", "and", "or", "of", "in", "on", "at", "to", "for",
         "by", "as", "from", "into", "with"}


def title_case(s):
    out = []
    for i, w in enumerate(s.split(" ")):
        if i > 0 and w.lower() in SMALL:
            out.append(w.lower())
        else:
            out.append(w[:1].upper() + w[1:])
    return " ".join(out)


def curly(s):
    s = re.sub(r'(^|[\s(\[])"', "\\1\u201c", s)
    s = s.replace('"', "\u201d")
    s = re.sub(r"(^|[\s(\[])'", "\\1\u2018", s)
    s = s.replace("'", "\u2019")
    return s


def replace_once(s, old, new):
    assert s.count(old) >= 1, (old, s[:60])
    return s.replace(old, new, 1)


# ---------------------------------------------------------------------------
# Document assembly.
# ---------------------------------------------------------------------------

DOCS = []      # dicts: id, text, source, published, cluster, role, note
CLUSTERS = {}  # cluster -> description


def add(doc_id, cluster, role, note, source, published, parts):
    for p in parts:
        assert p and "\n\n" not in p and p == p.strip(), (doc_id, p)
    DOCS.append(dict(id=doc_id, text="\n\n".join(parts), source=source,
                     published=published, cluster=cluster, role=role, note=note))


def original(key):
    s = WIRE[key]
    CLUSTERS[key] = s["desc"]
    p = paras(s["text"])
    n = len(p) - 1
    add(f"{key}-orig", key, "original",
        f"{s['agency']} wire original, headline + {n} paragraphs, {words(s['text'])} words",
        s["source"], s["published"], p)


def outlet_copy(key, doc_id, source, delay, *, typos=(), quotes=None,
                dateline=None, headline=None, keep=None, drop=None,
                editor_note=None, credit=None):
    s = WIRE[key]
    p = paras(s["text"])
    head, body = p[0], p[1:]
    n = len(body)
    notes = []
    if dateline:
        old, new = dateline
        body[0] = replace_once(body[0], old, new)
        notes.append(f"dateline '{old.strip()}' -> '{new.strip()}'")
    if drop is not None:
        del body[drop - 1]
        notes.append(f"paragraph {drop} of {n} dropped")
    if keep is not None:
        body = body[:keep]
        notes.append(f"trimmed to paragraphs 1-{keep} of {n} ({round(100 * keep / n)}%)")
    text_ops = []
    for old, new in typos:
        done = False
        for i, b in enumerate(body):
            if old in b:
                body[i] = b.replace(old, new, 1)
                done = True
                break
        assert done, (doc_id, old)
        text_ops.append(f"'{old}'->'{new}'")
    if text_ops:
        notes.append("typos " + ", ".join(text_ops))
    if quotes == "curly":
        head, body = curly(head), [curly(b) for b in body]
        notes.append("straight quotes/apostrophes made curly")
    if headline == "upper":
        head = head.upper()
        notes.append("headline in upper case")
    elif headline == "title":
        head = title_case(head)
        notes.append("headline in Title Case")
    elif headline == "lower":
        head = head.lower()
        notes.append("headline in lower case")
    if headline:
        assert head != p[0], (doc_id, "headline edit changed nothing")
    if editor_note:
        body.append(editor_note)
        notes.append("editor's note appended")
    if credit:
        where, line = credit
        if where == "inline":
            body[-1] = body[-1] + " " + line
            notes.append(f"credit '{line}' appended to last paragraph")
        else:
            body.append(line)
            notes.append(f"credit line '{line}' appended")
    pub = ts(s["published"]) + delay
    add(doc_id, key, "outlet copy",
        f"{source}, {fmt_delay(delay)}: " + "; ".join(notes),
        source, iso(pub), [head] + body)


def add_debris(site, body, rng):
    """Add the site's characteristic HTML debris to story paragraphs."""
    body = [b.replace("&", "&amp;") for b in body]
    n = len(body)

    def nbsp(b):
        spaces = [m.start() for m in re.finditer(" ", b)]
        k = spaces[rng.randrange(len(spaces))]
        return b[:k] + "&nbsp;" + b[k + 1:]

    if site == "scrape1":
        for i in sorted(rng.sample(range(n), max(1, n // 2))):
            body[i] = "<p>" + body[i]
        i = rng.randrange(n)
        body[i] = nbsp(body[i])
    elif site == "scrape2":
        for i in sorted(rng.sample(range(n), max(1, n // 3))):
            body[i] = "< p>" + body[i]
        for i in sorted(rng.sample(range(n), max(1, n // 3))):
            body[i] = body[i] + "<br />"
    elif site == "scrape3":
        for i in sorted(rng.sample(range(n), max(1, n // 2))):
            body[i] = body[i] + "<br>"
        i = rng.randrange(n)
        body[i] = nbsp(body[i])
        if n >= 4:
            i = rng.randrange(n)
            body[i] = "<p>" + body[i]
    return body


def scraper_parts(site, doc_id, head, body, caption, repeats_after, caption_after):
    """Assemble: header, byline, headline, story (with headline repeats and
    caption), bio, copyright, footer."""
    cfg = SITES[site]
    rng = random.Random(f"{SEED}:{doc_id}")
    body = add_debris(site, body, rng)
    story = []
    for i, b in enumerate(body, start=1):
        story.append(b)
        if caption and i == caption_after:
            story.append(caption)
        if i in repeats_after and i < len(body):
            story.append(head)
    return [cfg["header"], cfg["byline"], head] + story + \
        [cfg["bio"], cfg["copyright"]] + cfg["footer"]


def scraper_repost(site, key, delay, *, keep=None, cut_last=False,
                   repeats_after=(2,), caption_after=1):
    s = WIRE[key]
    p = paras(s["text"])
    head, body = p[0], p[1:]
    n = len(body)
    notes = []
    if keep is not None:
        body = body[:keep]
        notes.append(f"truncated to paragraphs 1-{keep} of {n} ({round(100 * keep / n)}%)")
    if cut_last:
        ws = body[-1].split(" ")
        body[-1] = " ".join(ws[: len(ws) // 2]) + " [\u2026]"
        notes.append("last kept paragraph cut mid-sentence with ' [\u2026]'")
    doc_id = f"{site}-{key}"
    reps = tuple(r for r in repeats_after if r < len(body))
    cap = s["caption"]
    parts = scraper_parts(site, doc_id, head, body, cap, reps, caption_after)
    notes.append(f"headline repeated {1 + len(reps)}x in total (top + after paragraph(s) "
                 f"{', '.join(map(str, reps))})")
    if cap:
        notes.append(f"photo caption after paragraph {caption_after}")
    notes.append(f"site boilerplate + debris ({SITES[site]['debris']})")
    pub = ts(s["published"]) + delay
    add(doc_id, key, "scraper repost",
        f"{SITES[site]['source']}, {fmt_delay(delay)}: " + "; ".join(notes),
        SITES[site]["source"], iso(pub), parts)


def short_repost(doc_id):
    s = SHORTS[doc_id]
    site = s["site"]
    p = paras(s["text"])
    head, body = p[0], p[1:]
    CLUSTERS[doc_id] = s["desc"]
    parts = scraper_parts(site, doc_id, head, body, s["caption"], (1,), 1)
    add(doc_id, doc_id, "scraper short (hard negative)",
        f"{SITES[site]['source']}: unique short story ({words(s['text'])} words incl. "
        f"headline) wrapped in the site's fixed boilerplate; headline repeated once"
        + ("; photo caption" if s["caption"] else ""),
        SITES[site]["source"], s["published"], parts)


def followup(doc_id):
    f = FOLLOWUPS[doc_id]
    bg = paras(WIRE[f["bg_from"]]["text"])[f["bg_index"]]
    text = f["text"].replace("{BG}", bg)
    CLUSTERS[doc_id] = f["desc"]
    share = words(bg) / words(text)
    assert share <= 0.30, (doc_id, share)
    add(doc_id, doc_id, "follow-up (hard negative)",
        f"new story, {words(text)} words; paragraph {f['bg_index']} of {f['bg_from']}-orig "
        f"copied verbatim as background ({words(bg)} words, {round(100 * share)}% of the doc)",
        f["source"], f["published"], paras(text))


def single(doc_id):
    s = SINGLES[doc_id]
    CLUSTERS[doc_id] = s["desc"]
    add(doc_id, doc_id, "singleton", f"{s['source']}, {words(s['text'])} words",
        s["source"], s["published"], paras(s["text"]))


H, M = (lambda h: timedelta(hours=h)), (lambda m: timedelta(minutes=m))

# --- quake: original + 2 outlet copies + 2 scraper reposts -------------------
original("quake")
outlet_copy("quake", "dunmere-courier-quake", "dunmere-courier.com", M(45),
            dateline=("KORVEL, Norvania (AMP) - ", "KORVEL (AMP) \u2014 "),
            typos=[("injuring", "injurying"), ("Seismological", "Siesmological"),
                   ("ferrying", "ferying")],
            quotes="curly", credit=("line", "(AMP)"))
outlet_copy("quake", "halmstrand-gazette-quake", "halmstrand-gazette.com", H(3),
            headline="title", keep=4)
scraper_repost("scrape1", "quake", H(2), repeats_after=(2, 4), caption_after=1)
scraper_repost("scrape2", "quake", H(26), keep=5, repeats_after=(3,), caption_after=2)

# --- rail: original + outlet copy + scraper repost ---------------------------
original("rail")
outlet_copy("rail", "meridia-morning-rail", "meridia-morning.com", M(20),
            quotes="curly", typos=[("commuters", "commutters"), ("solvent", "solvant")],
            editor_note="Editor's note: An earlier version of this story misstated "
                        "the current retirement age for drivers. It is 57, not 55.")
scraper_repost("scrape3", "rail", H(5), repeats_after=(3,), caption_after=1)

# --- rates: original + outlet copy + truncated scraper repost ----------------
original("rates")
outlet_copy("rates", "markets-ledger-rates", "markets-ledger.net", M(10),
            headline="upper",
            dateline=("DUNMERE (WPA) - ", "DUNMERE, March 5 (WPA) - "),
            credit=("line", "Reporting by WPA; editing by Markets Ledger staff"))
scraper_repost("scrape1", "rates", H(8), keep=5, repeats_after=(1, 3), caption_after=2)

# --- satellite: original + 2 scraper reposts ---------------------------------
original("satellite")
scraper_repost("scrape2", "satellite", M(40), repeats_after=(2, 4), caption_after=1)
scraper_repost("scrape3", "satellite", H(30), keep=4, repeats_after=(2,), caption_after=1)

# --- museum: original + outlet copy + 3 scraper reposts ----------------------
original("museum")
outlet_copy("museum", "vellin-observer-museum", "vellin-observer.com", H(1),
            drop=4, typos=[("reliquaries", "reliquaires")],
            credit=("inline", "(WPA)"))
scraper_repost("scrape1", "museum", H(3), repeats_after=(2,), caption_after=1)
scraper_repost("scrape2", "museum", H(20), keep=5, repeats_after=(1, 3, 4), caption_after=2)
scraper_repost("scrape3", "museum", H(50), keep=4, cut_last=True,
               repeats_after=(2,), caption_after=1)

# --- wildfire: original + trimmed outlet copy + scraper repost ---------------
original("wildfire")
outlet_copy("wildfire", "ostra-coastpost-wildfire", "ostra-coastpost.com", H(2),
            keep=3, headline="title", credit=("line", "\u2014 Northwire"))
scraper_repost("scrape3", "wildfire", H(6), repeats_after=(2, 4), caption_after=2)

# --- transfer: original + outlet copy ----------------------------------------
original("transfer")
outlet_copy("transfer", "sportdesk-transfer", "sportdesk-norvania.com", M(5),
            quotes="curly", headline="title",
            typos=[("competitions", "competitons"), ("centre-forward", "center-forward")])

# --- vaccine: original + scraper repost --------------------------------------
original("vaccine")
scraper_repost("scrape2", "vaccine", H(10), repeats_after=(2,), caption_after=1)

# --- canal: original + outlet copy + scraper repost --------------------------
original("canal")
outlet_copy("canal", "harbourline-canal", "harbourline-news.com", M(30),
            dateline=("BRANNOCK BAY, Norvania (Northwire) - ",
                      "BRANNOCK BAY, March 12 (Northwire) \u2013 "),
            quotes="curly", typos=[("crosswinds", "cross winds")],
            credit=("inline", "(Northwire)"))
scraper_repost("scrape1", "canal", M(20), repeats_after=(3,), caption_after=1)

# --- storm: topical neighbours (storm-a has one copy, storm-b none) ----------
original("storm-a")
outlet_copy("storm-a", "saltreach-tribune-storm-a", "saltreach-tribune.com", H(4),
            keep=4, headline="lower",
            typos=[("toppling", "topling")], credit=("line", "(AMP)"))
original("storm-b")

# --- follow-ups, singletons, scraper shorts ----------------------------------
followup("quake-followup")
followup("rates-followup")
for k in SINGLES:
    single(k)
for k in SHORTS:
    short_repost(k)

# ---------------------------------------------------------------------------
# Checks.
# ---------------------------------------------------------------------------

ids = [d["id"] for d in DOCS]
assert len(ids) == len(set(ids)), "duplicate ids"
by_cluster = {}
for d in DOCS:
    by_cluster.setdefault(d["cluster"], []).append(d)
assert set(by_cluster) == set(CLUSTERS)

for key, s in WIRE.items():
    w = words(s["text"])
    assert 150 <= w <= 400, (key, w)
    n = len(paras(s["text"])) - 1
    assert 3 <= n <= 7, (key, n)
    members = by_cluster[key]
    orig = ts(s["published"])
    for d in members:
        delta = ts(d["published"]) - orig
        if d["role"] == "outlet copy":
            assert M(5) <= delta <= H(24), (d["id"], delta)
        elif d["role"] == "scraper repost":
            assert M(20) <= delta <= H(72), (d["id"], delta)
for key, s in SHORTS.items():
    w = words(s["text"])
    assert 60 <= w <= 100, (key, w)
for site in SITES:
    n = sum(1 for d in DOCS if d["source"] == SITES[site]["source"])
    assert n >= 4, (site, n)
    for d in DOCS:
        if d["source"] == SITES[site]["source"]:
            for piece in (SITES[site]["header"], SITES[site]["byline"],
                          SITES[site]["bio"], SITES[site]["copyright"]):
                assert piece in d["text"], (d["id"], piece[:30])
for d in DOCS:
    for site in SITES.values():
        if d["source"] != site["source"]:
            assert site["bio"] not in d["text"]

# ---------------------------------------------------------------------------
# Output.
# ---------------------------------------------------------------------------

DOCS.sort(key=lambda d: (d["published"], d["id"]))

with open(OUT / "docs.jsonl", "w", encoding="utf-8", newline="\n") as fh:
    for d in DOCS:
        rec = {"id": d["id"], "text": d["text"], "source": d["source"],
               "published": d["published"]}
        fh.write(json.dumps(rec, ensure_ascii=False) + "\n")

with open(OUT / "labels.jsonl", "w", encoding="utf-8", newline="\n") as fh:
    for d in DOCS:
        fh.write(json.dumps({"id": d["id"], "cluster": d["cluster"]},
                            ensure_ascii=False) + "\n")

sizes = {c: len(v) for c, v in by_cluster.items()}
n_pairs = sum(len(list(combinations(v, 2))) for v in by_cluster.values())
multi = [c for c, k in sizes.items() if k >= 2]


def cluster_order(c):
    first = min(d["published"] for d in by_cluster[c])
    return (-sizes[c], first, c)


lines = []
lines.append("# wiredup test corpus: wire syndication and scraper reposts\n")
lines.append(
    "A small labelled corpus for testing duplicate and near-duplicate detection "
    "of news articles: the same wire story republished by outlets with light "
    "edits, scraped reposts wrapped in site boilerplate and HTML debris, and "
    "hard negatives that share text or topic but are *not* the same story.\n")
lines.append(
    "**Everything here is invented by the wiredup project**: the stories, "
    "people, places (Norvania, Meridia, Korvel, Vellin, ...), news agencies "
    "(AMP, WPA, Northwire), outlets and scraper websites. No text is copied "
    "from any real article or website; any resemblance is coincidental.\n")
lines.append("## Files\n")
lines.append("- `docs.jsonl`: one document per line, "
             "`{\"id\", \"text\", \"source\", \"published\"}`. `text` is plain "
             "text with paragraphs separated by a blank line (`\\n\\n`); the "
             "first paragraph is the headline. `published` is ISO 8601 UTC. "
             "Lines are sorted by `published`, then `id`.")
lines.append("- `labels.jsonl`: one line per document, `{\"id\", \"cluster\"}`. "
             "Two documents share a cluster exactly when they are copies of "
             "the same underlying story.")
lines.append("- `make_corpus.py`: holds all the texts and regenerates the three "
             "files byte for byte (`python3 corpus/make_corpus.py`). The only "
             "randomness (where HTML debris lands in scraper reposts) is a "
             "`random.Random` seeded per document id.")
lines.append("- `README.md`: this file (also generated by the script).\n")
lines.append("## Numbers\n")
lines.append(f"- documents: {len(DOCS)}")
lines.append(f"- clusters: {len(by_cluster)}")
lines.append(f"- clusters with 2 or more documents: {len(multi)}")
lines.append(f"- same-cluster document pairs: {n_pairs}")
lines.append(f"- singleton clusters: {len(by_cluster) - len(multi)}\n")
lines.append("## How the copies were made\n")
lines.append(
    "- **Original**: the agency wire text (headline line + 3-7 paragraphs, "
    "150-400 words). Always the earliest document of its cluster.")
lines.append(
    "- **Outlet copy**: published 5 min to 24 h after the original, with light "
    "edits listed per document below (typos, straight to curly quotes, changed "
    "dateline, trimmed to the first paragraphs, a dropped paragraph, an "
    "editor's note, headline case, agency credit line).")
lines.append(
    "- **Scraper repost**: published 20 min to 72 h after the original on one "
    "of three scraper sites. Layout: site header line, site byline, headline, "
    "story paragraphs (headline repeated 1-3 more times between paragraphs, an "
    "agency photo caption inserted), site author bio (60-100 words), site "
    "copyright line, site footer paragraphs. `&` becomes `&amp;` and site-"
    "specific HTML debris is added. Some are truncated.")
lines.append("")
lines.append("Scraper sites (boilerplate identical on every document of a site):\n")
lines.append("| site | source | header | byline | debris | docs |")
lines.append("|---|---|---|---|---|---|")
for site, cfg in SITES.items():
    n = sum(1 for d in DOCS if d["source"] == cfg["source"])
    lines.append(f"| {site} | {cfg['source']} | {cfg['header']} | {cfg['byline']} "
                 f"| `{cfg['debris']}` | {n} |")
lines.append("")
lines.append("## Hard negatives\n")
lines.append(
    "- **Follow-ups** (`quake-followup`, `rates-followup`): new stories that "
    "copy exactly one background paragraph verbatim from `quake-orig` / "
    "`rates-orig` (at most 30% of the follow-up's words). They are separate "
    "clusters.")
lines.append(
    "- **Scraper shorts** (`scrapeN-shortM`): short unrelated stories (60-100 "
    "words) reposted by a scraper site. Each shares the site's header, byline, "
    "bio, copyright and footer with the site's other documents but is a "
    "different story, so each is its own cluster.")
lines.append(
    "- **Topical neighbours** (`storm-a`, `storm-b`): two independently "
    "written reports of the same storm, with different wording. `storm-a` has "
    "one outlet copy; `storm-b` has none.")
lines.append(
    "- **Singletons** (`single-*`): unrelated stories with no copies.\n")
lines.append("## Clusters and documents\n")
lines.append("Each copy's note starts with its source and its delay after the "
             "cluster's original. Paragraph numbers count body paragraphs; the "
             "headline line is not counted.\n")
for c in sorted(by_cluster, key=cluster_order):
    members = sorted(by_cluster[c], key=lambda d: (d["published"], d["id"]))
    lines.append(f"### `{c}` ({len(members)} doc{'s' if len(members) > 1 else ''}): "
                 f"{CLUSTERS[c]}\n")
    for d in members:
        lines.append(f"- `{d['id']}` ({d['published']}), **{d['role']}**: {d['note']}")
    lines.append("")

with open(OUT / "README.md", "w", encoding="utf-8", newline="\n") as fh:
    fh.write("\n".join(lines).rstrip("\n") + "\n")

print(f"docs={len(DOCS)} clusters={len(by_cluster)} multi={len(multi)} pairs={n_pairs}")
