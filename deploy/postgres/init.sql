-- Run once by the postgres image on an empty data volume (docker-entrypoint-initdb.d), as POSTGRES_USER,
-- who then owns both databases: Rasa's conversations (tracker) and the bank's profiles, service desk
-- and knowledge-base votes (profile; its schema comes from `python -m bot.profile migrate`).
CREATE DATABASE tracker ENCODING 'UTF8';
CREATE DATABASE profile ENCODING 'UTF8';
